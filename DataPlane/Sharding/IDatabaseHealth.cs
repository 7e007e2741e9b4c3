namespace MediaService.DataPlane.Sharding;

/// <summary>What placing a new item needs to know of the storage databases (<see cref="ShardDatabases"/> in
/// production): whether one may take new items.</summary>
public interface IDatabaseHealth
{
    /// <summary>True when the database may take new items.</summary>
    bool IsHealthy(string name);
}
