using MediaService.DataPlane.Sharding;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace MediaService.Grains.Storage;

/// <summary>
/// The grain storage of media items (<see cref="StorageNames.Media"/>): routes each item's state to the database that
/// holds its logical shard (<see cref="ShardMap"/>), where one ADO.NET provider per database does the work. The rows
/// are the same as with one provider (the table keys name no provider), so a single-database deployment reads what it
/// wrote before. Holds media items only: their grain ids are integers.
/// </summary>
public sealed class ShardedGrainStorage(IServiceProvider services, ShardMap map) : IGrainStorage
{
    /// <summary>The name the ADO.NET provider of a database is registered under.</summary>
    public static string ProviderName(string database) => $"media-db-{database}";

    /// <summary>The map it routes by.</summary>
    public ShardMap Map => map;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Route(grainId).ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Route(grainId).WriteStateAsync(stateName, grainId, grainState);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Route(grainId).ClearStateAsync(stateName, grainId, grainState);

    private IGrainStorage Route(GrainId grainId)
    {
        if (!grainId.TryGetIntegerKey(out var id, out var extension) || extension is not null)
        {
            throw new InvalidOperationException($"Storage '{StorageNames.Media}' holds media items only, not {grainId}.");
        }

        return services.GetRequiredKeyedService<IGrainStorage>(ProviderName(map.Route(id).Database));
    }
}
