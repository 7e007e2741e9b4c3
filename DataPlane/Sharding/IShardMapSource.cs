namespace MediaService.DataPlane.Sharding;

/// <summary>
/// What the edge needs of the shard map (<see cref="ShardDirectory"/> in production): the map to place a new item and
/// to refuse calls about items whose shard is being moved. The in-process tests give a fixed map.
/// </summary>
public interface IShardMapSource
{
    /// <summary>The map last read (null before the first read).</summary>
    ShardMap? Current { get; }

    /// <summary>The map, read again when it is older than <see cref="StorageOptions.MapRefresh"/>.</summary>
    ValueTask<ShardMap> MapAsync(CancellationToken cancellationToken = default);
}
