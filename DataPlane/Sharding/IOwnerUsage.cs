namespace MediaService.DataPlane.Sharding;

/// <summary>What quota checks need of the search index (<see cref="ShardedIndex"/> in production): an owner's usage.</summary>
public interface IOwnerUsage
{
    /// <summary>The owner's stored and announced bytes and unfinished uploads; with <paramref name="except"/>, without
    /// that item.</summary>
    Task<OwnerUsage> UsageAsync(string serviceId, string owner, CancellationToken cancellationToken, long? except = null);
}
