using MediaService.DataPlane;
using MediaService.DataPlane.Sharding;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Polly;
using Polly.Registry;

namespace MediaService.Grains.Storage;

/// <summary>
/// The grain storage of media items (<see cref="StorageNames.Media"/>): routes each item's state to the database that
/// holds its logical shard (<see cref="ShardMap"/>), where one ADO.NET provider per database does the work. The rows
/// are the same as with one provider (the table keys name no provider), so a single-database deployment reads what it
/// wrote before. Holds media items only: their grain ids are integers. Every call goes through its database's own
/// PostgreSQL pipeline (<see cref="Resilience.PostgresFor"/>): retried when transient (writes are conditional on the
/// ETag, so a repeat after an ambiguous failure is refused rather than applied twice), and counted by that database's
/// breaker alone, so one database that does not answer opens only its own circuit.
/// </summary>
public sealed class ShardedGrainStorage(IServiceProvider services, ShardMap map) : IGrainStorage
{
    private readonly ResiliencePipelineProvider<string> _pipelines = services.GetRequiredService<ResiliencePipelineProvider<string>>();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (IGrainStorage Store, ResiliencePipeline Pipeline)> _routes = new(StringComparer.Ordinal);

    /// <summary>The name the ADO.NET provider of a database is registered under.</summary>
    public static string ProviderName(string database) => $"media-db-{database}";

    /// <summary>The map it routes by.</summary>
    public ShardMap Map => map;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        RunAsync(grainId, store => store.ReadStateAsync(stateName, grainId, grainState));

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        RunAsync(grainId, store => store.WriteStateAsync(stateName, grainId, grainState));

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        RunAsync(grainId, store => store.ClearStateAsync(stateName, grainId, grainState));

    private Task RunAsync(GrainId grainId, Func<IGrainStorage, Task> call)
    {
        if (!grainId.TryGetIntegerKey(out var id, out var extension) || extension is not null)
        {
            throw new InvalidOperationException($"Storage '{StorageNames.Media}' holds media items only, not {grainId}.");
        }

        var (store, pipeline) = _routes.GetOrAdd(map.Route(id).Database, database =>
            (services.GetRequiredKeyedService<IGrainStorage>(ProviderName(database)), _pipelines.GetPipeline(Resilience.PostgresFor(database))));
        return pipeline.RunAsync(idempotent: true, async _ =>
        {
            await call(store);
            return true;
        }, CancellationToken.None);
    }
}
