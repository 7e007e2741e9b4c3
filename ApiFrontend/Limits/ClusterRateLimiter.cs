using MediaService.ApiFrontend.Admin;
using System.Collections.Concurrent;
using System.Globalization;
using MediaService.ApiFrontend.Http;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.Options;

namespace MediaService.ApiFrontend.Limits;

/// <summary>
/// Admits requests against cluster-wide token buckets (<see cref="IRateLimitGrain"/>, one per owner and class): a
/// frontend takes a small batch of tokens at a time and spends them locally, dropping any it has not spent within
/// the lease lifetime. A refusal carries the time until the bucket has a token again.
/// </summary>
public sealed partial class ClusterRateLimiter(IClusterClient cluster, IOptions<RateLimitOptions> options, TimeProvider time, ILogger<ClusterRateLimiter> logger)
{
    private readonly ConcurrentDictionary<string, Local> _buckets = new(StringComparer.Ordinal);

    /// <summary>The decision for one request of the caller <paramref name="owner"/> (a key or an owner) in <paramref name="requestClass"/>.</summary>
    public async Task<RateDecision> AcquireAsync(string owner, RequestClass requestClass, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var rule = settings.For(requestClass);
        var key = $"{owner}/{requestClass.ToString().ToLowerInvariant()}";
        var local = _buckets.GetOrAdd(key, _ => new Local());
        await local.Gate.WaitAsync(cancellationToken);
        try
        {
            var now = time.GetUtcNow();
            if (local.Tokens > 0 && local.Until > now)
            {
                local.Tokens--;
                return new RateDecision(true, requestClass, rule, local.Remaining, TimeSpan.Zero, local.FullIn);
            }

            var batch = Math.Max(1, (int)Math.Floor(rule.PerSecond * settings.BatchSeconds));
            var grant = await TakeAsync(key, batch, rule);
            local.Remaining = grant.Remaining;
            local.FullIn = grant.FullIn;
            if (grant.Granted == 0)
            {
                local.Tokens = 0;
                return new RateDecision(false, requestClass, rule, 0, grant.RetryAfter, grant.FullIn);
            }

            local.Tokens = grant.Granted - 1;
            local.Until = now + settings.LeaseLifetime;
            return new RateDecision(true, requestClass, rule, grant.Remaining, TimeSpan.Zero, grant.FullIn);
        }
        finally
        {
            local.Gate.Release();
        }
    }

    /// <summary>Waits until <paramref name="owner"/> may upload <paramref name="bytes"/> more bytes (cluster-wide bandwidth).</summary>
    public async Task ThrottleBytesAsync(string owner, int bytes, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var rule = settings.UploadKib;
        var key = $"{owner}/upload-kib";
        var local = _buckets.GetOrAdd(key, _ => new Local());
        var need = Math.Max(1, (bytes + 1023) / 1024);
        while (true)
        {
            TimeSpan wait;
            await local.Gate.WaitAsync(cancellationToken);
            try
            {
                var now = time.GetUtcNow();
                if (local.Until > now && local.Tokens > 0)
                {
                    var taken = Math.Min(local.Tokens, need);
                    local.Tokens -= taken;
                    need -= taken;
                }

                if (need == 0)
                {
                    return;
                }

                var batch = Math.Max(need, (int)Math.Floor(rule.PerSecond * settings.BatchSeconds));
                var grant = await TakeAsync(key, batch, rule);
                var used = Math.Min(grant.Granted, need);
                need -= used;
                local.Tokens = grant.Granted - used;
                local.Until = now + settings.LeaseLifetime;
                if (need == 0)
                {
                    return;
                }

                wait = grant.RetryAfter > TimeSpan.Zero ? grant.RetryAfter : TimeSpan.FromSeconds(Math.Min(need, rule.Burst) / rule.PerSecond);
            }
            finally
            {
                local.Gate.Release();
            }

            await Task.Delay(wait < TimeSpan.FromMilliseconds(5) ? TimeSpan.FromMilliseconds(5) : wait, time, cancellationToken);
        }
    }

    // Tokens from the cluster's bucket; when the cluster cannot answer in time, the batch is granted locally (the
    // frontend then admits at most the rule's rate for a lease lifetime before it asks again).
    private async Task<RateGrant> TakeAsync(string key, int batch, RateRule rule)
    {
        try
        {
            return await cluster.GetGrain<IRateLimitGrain>(key).TakeAsync(batch, rule.PerSecond, rule.Burst).WaitAsync(options.Value.ClusterCallTimeout);
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            LogClusterUnavailable(logger, key, ex.GetType().Name);
            return new RateGrant(batch, rule.Burst, TimeSpan.Zero, TimeSpan.Zero);
        }
    }

    [LoggerMessage(EventId = LogEvents.RateLimits + 1, Level = LogLevel.Warning, Message = "Rate limit bucket {Bucket} not reachable ({Error}): admitting locally for a lease lifetime")]
    private static partial void LogClusterUnavailable(ILogger logger, string bucket, string error);

    private sealed class Local
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public int Tokens { get; set; }

        public DateTimeOffset Until { get; set; }

        public int Remaining { get; set; }

        public TimeSpan FullIn { get; set; }
    }
}
