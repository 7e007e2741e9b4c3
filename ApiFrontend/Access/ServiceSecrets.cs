using MediaService.ApiFrontend.Limits;
using MediaService.ApiFrontend.Admin;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using MediaService.DataPlane;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Polly.Registry;

namespace MediaService.ApiFrontend.Access;

/// <summary>
/// The service's own secrets (table <c>service_secrets</c>, migration 006), each 32 random bytes made once by whichever
/// frontend asks first and shared by all of them: <c>share-links</c> signs links, <c>api-keys</c> signs API keys,
/// <c>media-ids</c> signs media ids. A secret read is kept for the life of the process; a failed read is not (the next
/// caller reads again), so one database hiccup never poisons a frontend until its restart.
/// </summary>
public sealed class ServiceSecrets(NpgsqlDataSource dataSource, ResiliencePipelineProvider<string> pipelines, IOptions<ClusterOptions> cluster) : ISecretSource
{
    private readonly ConcurrentDictionary<string, Task<byte[]>> _secrets = new(StringComparer.Ordinal);

    /// <summary>How long a request waits for a secret still being read (a hung database must not hold it for the
    /// database guard's whole budget); the read goes on, and the request is answered 503.</summary>
    public static readonly TimeSpan ReadWait = TimeSpan.FromSeconds(3);

    /// <summary>The secret called <paramref name="name"/>; <see cref="MediaService.Grains.Interfaces.MediaException"/> (unavailable) when it could not be
    /// read within <see cref="ReadWait"/>.</summary>
    public Task<byte[]> GetAsync(string name)
    {
        var loading = Loading(name);
        return loading.IsCompleted ? loading : WaitAsync(loading);
    }

    private static async Task<byte[]> WaitAsync(Task<byte[]> loading)
    {
        try
        {
            return await loading.WaitAsync(ReadWait);
        }
        catch (TimeoutException ex)
        {
            throw MediaService.Grains.Interfaces.MediaException.Unavailable(
                $"The service's secrets could not be read from the database in time ({ex.Message}).", TimeSpan.FromSeconds(5));
        }
    }

    private Task<byte[]> Loading(string name)
    {
        while (true)
        {
            var loading = _secrets.GetOrAdd(name, LoadAsync);
            if (!loading.IsFaulted && !loading.IsCanceled)
            {
                return loading;
            }

            // A failed read is dropped (by whoever sees it first) and read again.
            if (!_secrets.TryRemove(new KeyValuePair<string, Task<byte[]>>(name, loading)))
            {
                continue;
            }

            return loading;
        }
    }

    /// <summary>The secret if it was read already, without waiting; null before that.</summary>
    public byte[]? Peek(string name) => _secrets.TryGetValue(name, out var loading) && loading.IsCompletedSuccessfully ? loading.Result : null;

    private Task<byte[]> LoadAsync(string name) =>
        pipelines.GetPipeline(Resilience.Postgres).RunAsync(idempotent: true, async ct =>
        {
            // Whoever comes first makes it; everyone reads the one that won.
            await using var command = dataSource.CreateCommand("""
                INSERT INTO service_secrets (service_id, name, value) VALUES (@service, @name, @value) ON CONFLICT DO NOTHING;
                SELECT value FROM service_secrets WHERE service_id = @service AND name = @name;
                """);
            command.Parameters.AddWithValue("service", cluster.Value.ServiceId);
            command.Parameters.AddWithValue("name", name);
            command.Parameters.AddWithValue("value", RandomNumberGenerator.GetBytes(32));
            return (byte[])(await command.ExecuteScalarAsync(ct))!;
        }, CancellationToken.None);
}

/// <summary>Reads the service's secrets once at start-up, in the background, so that the first requests do not wait for
/// them; a failure is only logged (each secret is read again when first needed).</summary>
public sealed partial class SecretWarmup(ServiceSecrets secrets, ILogger<SecretWarmup> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        foreach (var name in new[] { ApiKeys.SecretName, Media.MediaIdIssuer.SecretName, ShareLinks.SecretName })
        {
            try
            {
                await secrets.GetAsync(name).WaitAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogNotYet(logger, name, ex.Message);
            }
        }
    }

    [LoggerMessage(EventId = LogEvents.Keys + 4, Level = LogLevel.Warning, Message = "The service secret {Name} could not be read at start-up ({Reason}); it is read when first needed")]
    private static partial void LogNotYet(ILogger logger, string name, string reason);
}
