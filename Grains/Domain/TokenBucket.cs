using MediaService.Grains.Interfaces;

namespace MediaService.Grains.Domain;

/// <summary>A token bucket: <c>Tokens</c> at <c>At</c>, refilled continuously at a rate, up to a burst.</summary>
public sealed record TokenBucket(double Tokens, DateTimeOffset At)
{
    /// <summary>A full bucket.</summary>
    public static TokenBucket Full(int burst, DateTimeOffset now) => new(burst, now);

    /// <summary>Refills to <paramref name="now"/>, then grants up to <paramref name="wanted"/> whole tokens.</summary>
    public (TokenBucket Next, RateGrant Grant) Take(int wanted, double perSecond, int burst, DateTimeOffset now)
    {
        var elapsed = Math.Max(0, (now - At).TotalSeconds);
        var tokens = Math.Min(burst, Tokens + (elapsed * perSecond));
        var granted = (int)Math.Min(Math.Max(0, wanted), Math.Floor(tokens));
        tokens -= granted;
        var retryAfter = granted > 0 || perSecond <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds((1 - tokens) / perSecond);
        var fullIn = perSecond <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds((burst - tokens) / perSecond);
        return (new TokenBucket(tokens, now), new RateGrant(granted, (int)Math.Floor(tokens), retryAfter, fullIn));
    }
}
