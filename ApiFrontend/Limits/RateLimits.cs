using MediaService.ApiFrontend.Access;
using MediaService.ApiFrontend.Admin;
using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using MediaService.ApiFrontend.Http;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.Options;

namespace MediaService.ApiFrontend.Limits;

/// <summary>Request classes, each with a bucket per key owner.</summary>
public enum RequestClass
{
    /// <summary>Creating or changing items: uploads, tus creation, metadata patches, deletes, share links.</summary>
    Create,

    /// <summary>tus appends (PATCH /files/{id}).</summary>
    Append,

    /// <summary>Reading one item: metadata, content, renditions, tus HEAD.</summary>
    Read,

    /// <summary>GET /media.</summary>
    Search,

    /// <summary>/admin routes.</summary>
    Admin,
}

/// <summary>One class's rate: tokens per second and the burst a bucket holds.</summary>
public sealed class RateRule
{
    /// <summary>Requests per second, sustained.</summary>
    [Range(0.001, 1_000_000)]
    public double PerSecond { get; set; }

    /// <summary>Requests that may come at once after a quiet time.</summary>
    [Range(1, 1_000_000)]
    public int Burst { get; set; }
}

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

/// <summary>A rate limit decision, and what the IETF RateLimit headers say about it.</summary>
public sealed record RateDecision(bool Admitted, RequestClass Class, RateRule Rule, int Remaining, TimeSpan RetryAfter, TimeSpan FullIn)
{
    /// <summary>Writes <c>RateLimit-Policy</c> and <c>RateLimit</c> (and <c>Retry-After</c> when refused).</summary>
    public void WriteHeaders(HttpResponse response)
    {
        var name = Class.ToString().ToLowerInvariant();
        var window = Math.Max(1, (int)Math.Ceiling(Rule.Burst / Rule.PerSecond));
        response.Headers["RateLimit-Policy"] = string.Create(CultureInfo.InvariantCulture, $"\"{name}\";q={Rule.Burst};w={window}");
        var reset = Math.Max(0, (int)Math.Ceiling((Admitted ? FullIn : RetryAfter).TotalSeconds));
        response.Headers["RateLimit"] = string.Create(CultureInfo.InvariantCulture, $"\"{name}\";r={Remaining};t={reset}");
        if (!Admitted)
        {
            response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
    }
}

/// <summary>The middleware that classifies authenticated requests and applies the limits.</summary>
public static class RateLimitMiddleware
{
    /// <summary>The claim naming the buckets of a request made through an upload link: its maker's. (A JWT cannot carry
    /// it: <c>media:*</c> claims are stripped from tokens.)</summary>
    public const string LimitsClaim = "media:limits";

    /// <summary>Whose buckets a request uses: its API key's (every key has its own), an upload link's maker's, or a JWT owner's.</summary>
    public static string LimitKey(this System.Security.Claims.ClaimsPrincipal user) =>
        user.FindFirst(LimitsClaim)?.Value is { Length: > 0 } maker ? maker
        : user.FindFirst("media:key")?.Value is { } key ? $"key-{key}" : $"owner-{user.Owner()}";

    /// <summary>After authentication: every request with a key or token is counted against its key's buckets.</summary>
    public static IApplicationBuilder UseClusterRateLimits(this IApplicationBuilder app) => app.Use(static async (context, next) =>
    {
        if (context.User.Identity?.IsAuthenticated != true || Classify(context.Request) is not { } requestClass
            || !context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value.Enabled)
        {
            await next(context);
            return;
        }

        var limiter = context.RequestServices.GetRequiredService<ClusterRateLimiter>();
        var decision = await limiter.AcquireAsync(context.User.LimitKey(), requestClass, context.RequestAborted);
        decision.WriteHeaders(context.Response);
        if (!decision.Admitted)
        {
            context.RequestServices.GetRequiredService<MediaService.DataPlane.Telemetry.MediaMetrics>().RateLimited(requestClass.ToString().ToLowerInvariant());
            await ApiErrors.RateLimited.Problem($"The {requestClass.ToString().ToLowerInvariant()} limit is {decision.Rule.PerSecond}/s (bursts of {decision.Rule.Burst}); "
                + $"the next request can come in {decision.RetryAfter.TotalSeconds:0.###} s.").ExecuteAsync(context);
            return;
        }

        await next(context);
    });

    /// <summary>The class of a request, or null for requests that are not limited.</summary>
    public static RequestClass? Classify(HttpRequest request)
    {
        var path = request.Path.Value ?? string.Empty;
        var method = request.Method;
        if (path.StartsWith("/admin", StringComparison.OrdinalIgnoreCase))
        {
            return RequestClass.Admin;
        }

        if (path.StartsWith("/files", StringComparison.OrdinalIgnoreCase))
        {
            return method switch
            {
                "PATCH" => RequestClass.Append,
                "POST" or "DELETE" => RequestClass.Create,
                "OPTIONS" => null,
                _ => RequestClass.Read,
            };
        }

        if (path.StartsWith("/upload-links", StringComparison.OrdinalIgnoreCase))
        {
            return RequestClass.Create;
        }

        if (path.StartsWith("/webhooks", StringComparison.OrdinalIgnoreCase))
        {
            return HttpMethods.IsGet(method) ? RequestClass.Read : RequestClass.Create;
        }

        if (!path.StartsWith("/media", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (HttpMethods.IsGet(method) && path.TrimEnd('/').Equals("/media", StringComparison.OrdinalIgnoreCase))
        {
            return RequestClass.Search;
        }

        return HttpMethods.IsGet(method) || HttpMethods.IsHead(method) ? RequestClass.Read : RequestClass.Create;
    }
}

/// <summary>A request body read no faster than its owner's upload bandwidth allows (the client is slowed by TCP).</summary>
public sealed class ThrottledBody(Stream inner, ClusterRateLimiter limiter, string owner) : MediaService.DataPlane.ForwardReadStream
{
    private const int MaxRead = 64 * 1024;

    /// <summary>The body of an authenticated request, throttled to its key's bandwidth; other bodies as they are.</summary>
    public static Stream For(HttpContext context, Stream body) =>
        context.User.Identity?.IsAuthenticated == true && context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value.Enabled
            ? new ThrottledBody(body, context.RequestServices.GetRequiredService<ClusterRateLimiter>(), context.User.LimitKey())
            : body;

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer[..Math.Min(buffer.Length, MaxRead)], cancellationToken);
        if (read > 0)
        {
            await limiter.ThrottleBytesAsync(owner, read, cancellationToken);
        }

        return read;
    }
}
