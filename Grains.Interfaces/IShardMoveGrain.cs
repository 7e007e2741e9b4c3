namespace MediaService.Grains.Interfaces;

/// <summary>
/// Moves one logical shard (the grain's key, 0 to 63) from the database that holds it to another: drained (its items
/// answer 503), fenced in its source, copied and verified, switched in the shard map and reopened, then removed from the
/// source. One move per shard at a time; a move survives its silo (a reminder resumes it). The admin API starts it.
/// </summary>
[Alias("MediaService.IShardMoveGrain")]
public interface IShardMoveGrain : IGrainWithIntegerKey
{
    /// <summary>Starts moving the shard to <paramref name="target"/> (a name of <c>Storage:Shards</c>). Refuses with
    /// <see cref="MediaErrorCode.InvalidInput"/> (unknown database), <see cref="MediaErrorCode.InvalidState"/> (the shard
    /// is there already, or a move of it is unfinished) or <see cref="MediaErrorCode.Unavailable"/> (a database does not
    /// answer).</summary>
    [Alias("Start")]
    Task<ShardMoveView> StartAsync(string target);
}

/// <summary>One move of a logical shard.</summary>
/// <param name="Id">The move's id.</param>
/// <param name="Shard">The logical shard.</param>
/// <param name="Source">The database it leaves.</param>
/// <param name="Target">The database it goes to.</param>
/// <param name="Step">draining, deactivating, fencing, copying, switching, cleaning, done or aborted.</param>
/// <param name="Rows">Rows copied and verified, by table.</param>
/// <param name="Error">Why it was aborted.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="StepAt">When its current step started.</param>
/// <param name="FinishedAt">When it ended (done or aborted).</param>
[GenerateSerializer]
[Immutable]
[Alias("MediaService.ShardMoveView")]
public sealed record ShardMoveView(
    [property: Id(0)] long Id,
    [property: Id(1)] int Shard,
    [property: Id(2)] string Source,
    [property: Id(3)] string Target,
    [property: Id(4)] string Step,
    [property: Id(5)] IReadOnlyDictionary<string, long> Rows,
    [property: Id(6)] string? Error,
    [property: Id(7)] DateTimeOffset StartedAt,
    [property: Id(8)] DateTimeOffset StepAt,
    [property: Id(9)] DateTimeOffset? FinishedAt);
