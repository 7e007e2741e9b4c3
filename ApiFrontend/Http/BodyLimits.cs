using MediaService.DataPlane;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace MediaService.ApiFrontend.Http;

/// <summary>The limits on one upload request's body: its size and the slowest rate at which it may arrive.</summary>
public static class BodyLimits
{
    /// <summary>Applies <paramref name="maxBytes"/> (Kestrel answers 413 beyond it) and the minimum transfer rate.</summary>
    public static void Apply(HttpContext context, long maxBytes, UploadOptions options)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = maxBytes;
        }

        if (context.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = new MinDataRate(options.MinBytesPerSecond, options.MinRateGracePeriod);
        }
    }
}
