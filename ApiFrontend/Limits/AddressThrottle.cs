using MediaService.ApiFrontend.Access;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using MediaService.ApiFrontend.Http;
using MediaService.DataPlane.Telemetry;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace MediaService.ApiFrontend.Limits;

/// <summary>
/// Per client address, in each frontend's memory and ahead of authentication: a bucket of failed authentications
/// (requests answered 401) and a bucket of anonymous requests (routes that need no key: OpenAPI, share links; health
/// probes and metric scrapes are not counted). An address whose failures are spent gets 429 at once, before its credentials are read, unless
/// it presents a key signed by the service (checked with a hash, no database), so that a flood of made-up keys is
/// refused cheaply while the real keys behind the same address keep working. The number of addresses tracked is
/// bounded: full buckets are the first forgotten, and past the bound new addresses share one bucket.
/// </summary>
public sealed class AddressThrottle(IOptions<RateLimitOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<(IPAddress Address, bool Anonymous), Bucket> _buckets = new();
    private long _lastForget;

    /// <summary>The client an address stands for: an IPv4 address itself (also when mapped into IPv6), an IPv6 address
    /// by its /64 network (one subscriber's allocation), so that a client cannot take a fresh bucket per address.</summary>
    public static IPAddress ClientOf(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            return address;
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }

    /// <summary>Addresses tracked now (both kinds of bucket).</summary>
    public int Tracked => _buckets.Count;

    /// <summary>True when the address may still fail authentication (a token is left), without spending one.</summary>
    public bool MayFail(IPAddress address, out TimeSpan retryAfter) =>
        Peek(address, anonymous: false, options.Value.FailedAuthPerAddress, out retryAfter);

    /// <summary>Spends one failure of the address.</summary>
    public void Failed(IPAddress address) => Take(address, anonymous: false, options.Value.FailedAuthPerAddress, out _);

    /// <summary>Spends one anonymous request of the address; false (with the wait) when none is left.</summary>
    public bool Anonymous(IPAddress address, out TimeSpan retryAfter) =>
        Take(address, anonymous: true, options.Value.AnonymousPerAddress, out retryAfter);

    private bool Peek(IPAddress address, bool anonymous, RateRule rule, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (!_buckets.TryGetValue((address, anonymous), out var bucket)
            && (_buckets.Count < options.Value.MaxTrackedAddresses || !_buckets.TryGetValue((IPAddress.None, anonymous), out bucket)))
        {
            return true;
        }

        lock (bucket)
        {
            var tokens = bucket.Refill(rule, time.GetUtcNow());
            if (tokens >= 1)
            {
                return true;
            }

            retryAfter = TimeSpan.FromSeconds((1 - tokens) / rule.PerSecond);
            return false;
        }
    }

    private bool Take(IPAddress address, bool anonymous, RateRule rule, out TimeSpan retryAfter)
    {
        var now = time.GetUtcNow();
        var key = (address, anonymous);
        if (!_buckets.TryGetValue(key, out var bucket))
        {
            if (_buckets.Count >= options.Value.MaxTrackedAddresses)
            {
                Forget(now);
            }

            // Still full (a flood from more addresses than are tracked): the newcomers share one bucket.
            if (_buckets.Count >= options.Value.MaxTrackedAddresses)
            {
                key = (IPAddress.None, anonymous);
            }

            bucket = _buckets.GetOrAdd(key, _ => new Bucket(rule.Burst, now));
        }

        lock (bucket)
        {
            var tokens = bucket.Refill(rule, now);
            if (tokens >= 1)
            {
                bucket.Tokens = tokens - 1;
                retryAfter = TimeSpan.Zero;
                return true;
            }

            retryAfter = TimeSpan.FromSeconds((1 - tokens) / rule.PerSecond);
            return false;
        }
    }

    // Buckets that have refilled completely hold nothing worth keeping. At most one pass a second, so that a flood
    // from many addresses cannot make every request walk the table.
    private void Forget(DateTimeOffset now)
    {
        var last = new DateTimeOffset(Interlocked.Read(ref _lastForget), TimeSpan.Zero);
        if (now - last < TimeSpan.FromSeconds(1) || Interlocked.CompareExchange(ref _lastForget, now.UtcTicks, last.UtcTicks) != last.UtcTicks)
        {
            return;
        }

        var settings = options.Value;
        foreach (var (key, bucket) in _buckets)
        {
            var rule = key.Anonymous ? settings.AnonymousPerAddress : settings.FailedAuthPerAddress;
            lock (bucket)
            {
                if (bucket.Refill(rule, now) >= rule.Burst)
                {
                    _buckets.TryRemove(key, out _);
                }
            }
        }
    }

    private sealed class Bucket(double tokens, DateTimeOffset at)
    {
        public double Tokens { get; set; } = tokens;

        public DateTimeOffset At { get; private set; } = at;

        public double Refill(RateRule rule, DateTimeOffset now)
        {
            Tokens = Math.Min(rule.Burst, Tokens + (Math.Max(0, (now - At).TotalSeconds) * rule.PerSecond));
            At = now;
            return Tokens;
        }
    }
}

/// <summary>The middleware of <see cref="AddressThrottle"/>: after routing, before authentication.</summary>
public static class AddressThrottleMiddleware
{
    /// <summary>Applies the per-address limits.</summary>
    public static IApplicationBuilder UseAddressThrottle(this IApplicationBuilder app) => app.Use(static async (context, next) =>
    {
        var settings = context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
        if (!settings.Enabled || context.Connection.RemoteIpAddress is not { } address || HttpMethods.IsOptions(context.Request.Method))
        {
            await next(context);
            return;
        }

        var throttle = context.RequestServices.GetRequiredService<AddressThrottle>();
        address = AddressThrottle.ClientOf(address);
        var header = context.Request.Headers.Authorization.ToString();
        // Probes and scrapes (health, metrics) come from a few addresses, often: they are not counted.
        var path = context.Request.Path;
        if (path.StartsWithSegments("/health") || path.StartsWithSegments("/metrics"))
        {
            await next(context);
            return;
        }

        var anonymousRoute = context.GetEndpoint()?.Metadata.GetMetadata<IAllowAnonymous>() is not null;
        // On a route that needs no key, any request that does not present a signed one counts as anonymous (a made-up
        // header there fails quietly, so it would never be counted as a failure).
        if (anonymousRoute && (header.Length == 0 || !await PresentsSignedKeyAsync(context, header)))
        {
            if (!throttle.Anonymous(address, out var wait))
            {
                await RefuseAsync(context, "anonymous", wait, $"Requests without a key from one address are limited to {settings.AnonymousPerAddress.PerSecond}/s "
                    + $"(bursts of {settings.AnonymousPerAddress.Burst}).");
                return;
            }
        }
        else if (!throttle.MayFail(address, out var wait) && !await PresentsSignedKeyAsync(context, header))
        {
            await RefuseAsync(context, "failed-auth", wait, "Too many failed authentications from this address: "
                + $"{settings.FailedAuthPerAddress.PerSecond}/s are allowed (bursts of {settings.FailedAuthPerAddress.Burst}).");
            return;
        }

        await next(context);
        if (context.Response.StatusCode == StatusCodes.Status401Unauthorized)
        {
            throttle.Failed(address);
        }
    });

    private static async Task<bool> PresentsSignedKeyAsync(HttpContext context, string header) =>
        header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
        && await context.RequestServices.GetRequiredService<ApiKeys>().IsSignedAsync(header["Bearer ".Length..].Trim());

    private static async Task RefuseAsync(HttpContext context, string what, TimeSpan wait, string detail)
    {
        context.RequestServices.GetRequiredService<MediaMetrics>().RateLimited(what);
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        await ApiErrors.RateLimited.Problem(detail).ExecuteAsync(context);
    }
}
