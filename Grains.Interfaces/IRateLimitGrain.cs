namespace MediaService.Grains.Interfaces;

/// <summary>What a rate limit bucket granted.</summary>
/// <param name="Granted">Tokens handed to the caller (0 when none are left).</param>
/// <param name="Remaining">Whole tokens left in the bucket.</param>
/// <param name="RetryAfter">When none were granted: the time until one token is back.</param>
/// <param name="FullIn">The time until the bucket is full again.</param>
[GenerateSerializer, Immutable, Alias("MediaService.RateGrant")]
public sealed record RateGrant(
    [property: Id(0)] int Granted,
    [property: Id(1)] int Remaining,
    [property: Id(2)] TimeSpan RetryAfter,
    [property: Id(3)] TimeSpan FullIn);

/// <summary>
/// One token bucket for the whole cluster, keyed by owner and request class ("alice/read"). Frontends take tokens in
/// small batches and spend them locally, so that the cluster admits the configured rate however many frontends
/// there are, without a grain call per request. Kept in memory: a bucket that moves to another silo starts full.
/// </summary>
[Alias("MediaService.IRateLimitGrain")]
public interface IRateLimitGrain : IGrainWithStringKey
{
    /// <summary>Takes up to <paramref name="wanted"/> tokens from a bucket refilled at <paramref name="perSecond"/> up to <paramref name="burst"/>.</summary>
    [Alias("Take")]
    Task<RateGrant> TakeAsync(int wanted, double perSecond, int burst);
}
