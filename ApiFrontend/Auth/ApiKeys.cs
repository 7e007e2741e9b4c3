using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using MediaService.DataPlane;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Polly;
using Polly.Registry;

namespace MediaService.ApiFrontend.Auth;

/// <summary>Who a key belongs to.</summary>
public sealed record KeyIdentity(long Id, string Owner, bool IsAdmin);

/// <summary>A key as an admin lists it: never its secret.</summary>
public sealed record KeyListing(long Id, string Owner, bool IsAdmin, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>
/// API keys in PostgreSQL (table <c>api_keys</c>, migration 005). A key is <c>mk_</c> and 43 characters of base64url
/// (256 random bits); only its SHA-256 is stored. Lookups are cached for <see cref="AuthOptions.KeyCacheTtl"/>, which
/// bounds how long a revoked key keeps working on a frontend.
/// </summary>
public sealed class ApiKeys(NpgsqlDataSource dataSource, ResiliencePipelineProvider<string> pipelines, IOptions<ClusterOptions> cluster,
    IOptions<AuthOptions> options, TimeProvider time)
{
    /// <summary>What an owner name may be.</summary>
    public const string OwnerPattern = "^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$";

    private const string Prefix = "mk_";
    private readonly ResiliencePipeline _pipeline = pipelines.GetPipeline(Resilience.Postgres);
    private readonly ConcurrentDictionary<string, (KeyIdentity? Identity, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);
    private readonly string _service = cluster.Value.ServiceId;

    /// <summary>Makes a key for an owner; the key itself is returned only here.</summary>
    public async Task<(KeyIdentity Identity, string Key)> CreateAsync(string owner, bool isAdmin, CancellationToken cancellationToken)
    {
        var key = Prefix + System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return (await InsertAsync(key, owner, isAdmin, cancellationToken), key);
    }

    /// <summary>Makes a given key known (bootstrap files), unless it already is.</summary>
    public async Task<KeyIdentity> EnsureAsync(string key, string owner, bool isAdmin, CancellationToken cancellationToken) =>
        await FindUncachedAsync(key, cancellationToken) ?? await InsertAsync(key, owner, isAdmin, cancellationToken);

    /// <summary>Who a presented key belongs to, or null when it is unknown or revoked.</summary>
    public async Task<KeyIdentity?> FindAsync(string key, CancellationToken cancellationToken)
    {
        if (!key.StartsWith(Prefix, StringComparison.Ordinal) || key.Length > 100)
        {
            return null;
        }

        var now = time.GetUtcNow();
        var hash = Convert.ToHexString(Hash(key));
        if (_cache.TryGetValue(hash, out var cached) && cached.Until > now)
        {
            return cached.Identity;
        }

        KeyIdentity? identity;
        try
        {
            identity = await FindUncachedAsync(key, cancellationToken);
        }
        catch (Exception ex) when (Resilience.IsPostgresUnavailable(ex)
            && _cache.TryGetValue(hash, out var stale) && stale.Until - options.Value.KeyCacheTtl + options.Value.KeyStaleIfError > now)
        {
            // The database does not answer: what was read about this key a short while ago still holds (stale-if-error).
            return stale.Identity;
        }

        if (_cache.Count > 100_000)
        {
            _cache.Clear();
        }

        _cache[hash] = (identity, now + options.Value.KeyCacheTtl);
        return identity;
    }

    /// <summary>Revokes a key; false when no active key has that id.</summary>
    public Task<bool> RevokeAsync(long id, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand(
                "UPDATE api_keys SET revoked_at = now() WHERE service_id = @service AND id = @id AND revoked_at IS NULL");
            command.Parameters.AddWithValue("service", _service);
            command.Parameters.AddWithValue("id", id);
            return await command.ExecuteNonQueryAsync(ct) == 1;
        }, cancellationToken);

    /// <summary>Every key of the service, newest first, without secrets.</summary>
    public Task<IReadOnlyList<KeyListing>> ListAsync(CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<KeyListing>>(async ct =>
        {
            await using var command = dataSource.CreateCommand(
                "SELECT id, owner, is_admin, created_at, revoked_at FROM api_keys WHERE service_id = @service ORDER BY id DESC");
            command.Parameters.AddWithValue("service", _service);
            var keys = new List<KeyListing>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                keys.Add(new KeyListing(reader.GetInt64(0), reader.GetString(1), reader.GetBoolean(2),
                    new DateTimeOffset(reader.GetDateTime(3), TimeSpan.Zero),
                    reader.IsDBNull(4) ? null : new DateTimeOffset(reader.GetDateTime(4), TimeSpan.Zero)));
            }

            return keys;
        }, cancellationToken);

    private Task<KeyIdentity> InsertAsync(string key, string owner, bool isAdmin, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand(
                "INSERT INTO api_keys (service_id, owner, key_hash, is_admin) VALUES (@service, @owner, @hash, @admin) RETURNING id");
            command.Parameters.AddWithValue("service", _service);
            command.Parameters.AddWithValue("owner", owner);
            command.Parameters.AddWithValue("hash", Hash(key));
            command.Parameters.AddWithValue("admin", isAdmin);
            return new KeyIdentity((long)(await command.ExecuteScalarAsync(ct))!, owner, isAdmin);
        }, cancellationToken);

    private Task<KeyIdentity?> FindUncachedAsync(string key, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand(
                "SELECT id, owner, is_admin FROM api_keys WHERE key_hash = @hash AND service_id = @service AND revoked_at IS NULL");
            command.Parameters.AddWithValue("hash", Hash(key));
            command.Parameters.AddWithValue("service", _service);
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct) ? new KeyIdentity(reader.GetInt64(0), reader.GetString(1), reader.GetBoolean(2)) : null;
        }, cancellationToken);

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    // Key writes are not repeated (an insert could run twice); lookups fail fast rather than hold a request.
    private Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        _pipeline.RunAsync(idempotent: false, call, cancellationToken);
}
