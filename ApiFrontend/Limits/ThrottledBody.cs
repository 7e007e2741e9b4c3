using Microsoft.Extensions.Options;

namespace MediaService.ApiFrontend.Limits;

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
