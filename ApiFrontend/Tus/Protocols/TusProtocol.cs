using System.Globalization;
using MediaService.ApiFrontend.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MediaService.ApiFrontend.Tus.Protocols;

/// <summary>tus 1.0.0: appends in <c>application/offset+octet-stream</c>, capabilities in <c>Tus-*</c> headers, and no
/// completion or limit headers (its client learns the length and the offset from <c>Upload-Length</c> and HEAD).</summary>
internal sealed class TusProtocol : ResumableProtocol
{
    public override bool IsDraft => false;

    public override bool HasDeferLength => true;

    public override bool AcceptsAppendType(string? contentType) =>
        string.Equals(MediaTypeOf(contentType), TusEndpoints.OffsetContentType, StringComparison.OrdinalIgnoreCase);

    public override void WriteCapabilities(IHeaderDictionary headers, UploadLimits limits, TimeSpan lifetime)
    {
        headers["Tus-Version"] = TusEndpoints.Version;
        headers["Tus-Extension"] = TusEndpoints.Extensions;
        headers["Tus-Max-Size"] = limits.MaxSize.ToString(CultureInfo.InvariantCulture);
        headers["Tus-Checksum-Algorithm"] = TusChecksum.Algorithms;
    }

    public override ProblemHttpResult MismatchingOffset(HttpContext context, long? expected, long provided, string detail) =>
        ApiErrors.UploadConflict.Problem(detail);

    public override ProblemHttpResult InconsistentLength(HttpContext context, string detail) => Bad(detail);
}
