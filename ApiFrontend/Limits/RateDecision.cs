using System.Globalization;

namespace MediaService.ApiFrontend.Limits;

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
