using MediaService.DataPlane;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace MediaService.ApiFrontend.Tus;

/// <summary>OPTIONS on <c>/files/</c>: what the server supports, asked before (or without) any upload.</summary>
internal static class TusCapabilities
{
    internal static NoContent Options(HttpContext context, IOptions<UploadOptions> uploads, IOptions<TusOptions> tus)
    {
        // tus capabilities always (a client asks before it picks a protocol), and the draft's when it named one.
        var limits = UploadLimits.Of(uploads.Value);
        ResumableProtocol.Tus.WriteCapabilities(context.Response.Headers, limits, tus.Value.Expiry);
        var protocol = ResumableProtocol.Of(context);
        if (protocol.IsDraft)
        {
            protocol.WriteCapabilities(context.Response.Headers, limits, tus.Value.Expiry);
        }

        return TypedResults.NoContent();
    }
}
