using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;

namespace MediaService.Grains;

/// <summary>A cluster-wide token bucket (see <see cref="IRateLimitGrain"/>), over the pure <see cref="TokenBucket"/>.</summary>
public sealed class RateLimitGrain(TimeProvider time) : Grain, IRateLimitGrain
{
    private TokenBucket? _bucket;

    public Task<RateGrant> TakeAsync(int wanted, double perSecond, int burst)
    {
        var now = time.GetUtcNow();
        _bucket ??= TokenBucket.Full(burst, now);
        var (bucket, grant) = _bucket.Take(wanted, perSecond, burst, now);
        _bucket = bucket;
        return Task.FromResult(grant);
    }
}
