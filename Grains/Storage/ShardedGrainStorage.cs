using System.Collections.Concurrent;
using System.Diagnostics;
using MediaService.DataPlane;
using MediaService.DataPlane.Sharding;
using MediaService.DataPlane.Telemetry;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Storage;

namespace MediaService.Grains.Storage;

/// <summary>
/// The grain storage of media items (<see cref="StorageNames.Media"/>): routes each item's state to the database that
/// holds its logical shard (<see cref="ShardDirectory"/>), where one ADO.NET provider per database does the work. The
/// rows are the same as with one provider (the table keys name no provider), so a single-database deployment reads what
/// it wrote before. Holds media items only: their grain ids are integers. Every call goes through its database's own
/// PostgreSQL pipeline (<see cref="Resilience.PostgresFor"/>): retried when transient (writes are conditional on the
/// ETag, so a repeat after an ambiguous failure is refused rather than applied twice), and counted by that database's
/// breaker alone, so one database that does not answer opens only its own circuit; its items are then refused with
/// <see cref="MediaErrorCode.Unavailable"/> (503, Retry-After = the breaker's break). A shard being moved is refused here
/// (503, <see cref="StorageOptions.DrainRetryAfter"/>), and by its database's fence (55M01) should this process hold an
/// old map.
/// </summary>
public sealed class ShardedGrainStorage(
    IServiceProvider services, ShardDirectory directory, ShardDatabases databases, IOptions<StorageOptions> options, IOptions<PostgresOptions> postgres,
    MediaMetrics metrics) : IGrainStorage
{
    private readonly ConcurrentDictionary<string, IGrainStorage> _stores = new(StringComparer.Ordinal);

    /// <summary>The name the ADO.NET provider of a database is registered under.</summary>
    public static string ProviderName(string database) => $"media-db-{database}";

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        RunAsync(grainId, "read", store => store.ReadStateAsync(stateName, grainId, grainState));

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        RunAsync(grainId, "write", store => store.WriteStateAsync(stateName, grainId, grainState));

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        RunAsync(grainId, "clear", store => store.ClearStateAsync(stateName, grainId, grainState));

    private async Task RunAsync(GrainId grainId, string operation, Func<IGrainStorage, Task> call)
    {
        if (!grainId.TryGetIntegerKey(out var id, out var extension) || extension is not null)
        {
            throw new InvalidOperationException($"Storage '{StorageNames.Media}' holds media items only, not {grainId}.");
        }

        var placement = (await directory.MapAsync()).Route(id);
        var started = Stopwatch.GetTimestamp();
        if (placement.State == ShardState.Draining)
        {
            metrics.StorageCall(placement.Database, operation, "draining", placement.Shard, TimeSpan.Zero);
            throw MediaException.Unavailable("This item's storage is being moved; nothing was changed. Retry later.", options.Value.DrainRetryAfter);
        }

        var database = databases[placement.Database];
        var store = _stores.GetOrAdd(database.Name, name => services.GetRequiredKeyedService<IGrainStorage>(ProviderName(name)));
        try
        {
            await database.Pipeline.RunAsync(idempotent: true, async _ =>
            {
                await call(store);
                return true;
            }, CancellationToken.None);
            metrics.StorageCall(database.Name, operation, "ok", placement.Shard, Stopwatch.GetElapsedTime(started));
        }
        catch (Exception ex) when (Fenced(ex))
        {
            // This process routed by an older map: the shard was moved (or is being moved) away from this database.
            metrics.StorageCall(database.Name, operation, "fenced", placement.Shard, Stopwatch.GetElapsedTime(started));
            directory.Invalidate();
            throw MediaException.Unavailable("This item's storage is being moved; nothing was changed. Retry later.", options.Value.DrainRetryAfter);
        }
        catch (Exception ex) when (Resilience.IsPostgresUnavailable(ex))
        {
            // Said in a type every caller can read: Npgsql's exceptions cannot cross a grain call (an activation whose
            // first read failed answers its caller with this).
            metrics.StorageCall(database.Name, operation, "unavailable", placement.Shard, Stopwatch.GetElapsedTime(started));
            throw MediaException.Unavailable($"The database of this item ({database.Name}) did not answer; nothing was changed. Retry later.",
                postgres.Value.BreakerBreakDuration);
        }
        catch (Exception ex)
        {
            metrics.StorageCall(database.Name, operation, ex is InconsistentStateException ? "conflict" : "error", placement.Shard, Stopwatch.GetElapsedTime(started));
            throw;
        }
    }

    private static bool Fenced(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is PostgresException { SqlState: ShardSql.Fenced })
            {
                return true;
            }
        }

        return false;
    }
}
