using System.Globalization;
using System.Text;
using MediaService.ApiFrontend.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MediaService.ApiFrontend.Tus.Protocols;

/// <summary>
/// One interop version of the IETF draft: what every version does alike (<c>Upload-Complete</c>, the right offset on
/// a conflict, <c>Upload-Limit</c> when the version has it), with the differences left to one subclass per version.
/// </summary>
public abstract class DraftProtocol : ResumableProtocol
{
    private const string MismatchType = "https://iana.org/assignments/http-problem-types#mismatching-upload-offset";
    private const string LengthType = "https://iana.org/assignments/http-problem-types#inconsistent-upload-length";

    /// <summary>The value of <c>Upload-Draft-Interop-Version</c>.</summary>
    public abstract string InteropVersion { get; }

    public sealed override bool IsDraft => true;

    /// <summary>The key <c>Upload-Limit</c> names the upload's remaining lifetime by; null when the version announces no
    /// limits at all.</summary>
    protected virtual string? LimitAgeKey => null;

    public sealed override bool? UploadComplete(HttpRequest request) => TusHeaders.ParseBoolean(request.Headers[TusHeaders.UploadComplete]);

    public sealed override void WriteLimits(IHeaderDictionary headers, UploadLimits limits, DateTimeOffset? expiresAt, DateTimeOffset now)
    {
        if (LimitAgeKey is not { } ageKey)
        {
            return;
        }

        var value = new StringBuilder(limits.Dictionary());
        if (expiresAt is { } expires)
        {
            var seconds = Math.Max(0, (long)Math.Floor((expires - now).TotalSeconds));
            value.Append(CultureInfo.InvariantCulture, $", {ageKey}={seconds}");
        }

        headers["Upload-Limit"] = value.ToString();
    }

    public override void WriteCapabilities(IHeaderDictionary headers, UploadLimits limits, TimeSpan lifetime)
    {
        if (LimitAgeKey is { } ageKey)
        {
            headers["Upload-Limit"] = $"{limits.Dictionary()}, {ageKey}={(long)lifetime.TotalSeconds}";
        }
    }

    public sealed override void WriteComplete(IHeaderDictionary headers, bool complete) => headers["Upload-Complete"] = complete ? "?1" : "?0";

    public sealed override ProblemHttpResult MismatchingOffset(HttpContext context, long? expected, long provided, string detail)
    {
        // The answer carries the right offset, and says the upload is not complete: the client resumes from it.
        if (expected is { } offset)
        {
            context.Response.Headers["Upload-Offset"] = offset.ToString(CultureInfo.InvariantCulture);
        }

        context.Response.Headers["Upload-Complete"] = "?0";
        return MismatchProblem(expected, provided, detail);
    }

    public sealed override ProblemHttpResult InconsistentLength(HttpContext context, string detail)
    {
        context.Response.Headers["Upload-Complete"] = "?0";
        return LengthProblem(detail);
    }

    /// <summary>The problem a wrong offset is answered with: a plain conflict, unless the version has its own type.</summary>
    protected virtual ProblemHttpResult MismatchProblem(long? expected, long provided, string detail) => ApiErrors.UploadConflict.Problem(detail);

    /// <summary>The problem disagreeing lengths are answered with: a plain bad request, unless the version has its own type.</summary>
    protected virtual ProblemHttpResult LengthProblem(string detail) => Bad(detail);

    /// <summary>The draft's <c>mismatching-upload-offset</c> problem (since -04).</summary>
    protected static ProblemHttpResult MismatchingUploadOffset(long? expected, long provided, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Offset from request does not match offset of resource",
            detail: detail, type: MismatchType,
            extensions: new Dictionary<string, object?> { ["expected-offset"] = expected, ["provided-offset"] = provided, ["code"] = Problems.UploadConflict });

    /// <summary>The draft's <c>inconsistent-upload-length</c> problem (since -06).</summary>
    protected static ProblemHttpResult InconsistentUploadLength(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Inconsistent length values for upload", detail: detail,
            type: LengthType, extensions: new Dictionary<string, object?> { ["code"] = Problems.UploadRejected });

    /// <summary>Whether a Content-Type is the draft's <c>application/partial-upload</c>.</summary>
    protected static bool IsPartialUpload(string? contentType) =>
        string.Equals(MediaTypeOf(contentType), PartialUploadType, StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether a Content-Type is tus' <c>application/offset+octet-stream</c>.</summary>
    protected static bool IsTusChunk(string? contentType) =>
        string.Equals(MediaTypeOf(contentType), TusEndpoints.OffsetContentType, StringComparison.OrdinalIgnoreCase);
}
