using MediaService.ApiFrontend.Access;
using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using MediaService.ApiFrontend.Http;
using Microsoft.Extensions.Options;

namespace MediaService.ApiFrontend.Limits;

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
