using Microsoft.AspNetCore.Http.HttpResults;

namespace MediaService.ApiFrontend.Tus.Protocols;

/// <summary>Interop version 8, drafts -09 to -12 (iOS 26): as version 7, and limits announced on every OPTIONS, HEAD
/// and creation answer, <c>Accept-Patch</c> on OPTIONS (drafts -10, -11), offset retrieval by GET as by HEAD, the file
/// name from <c>Content-Disposition</c>.</summary>
internal sealed class DraftInterop8 : DraftProtocol
{
    public override string InteropVersion => "8";

    public override bool RetrievesOffsetByGet => true;

    protected override string? LimitAgeKey => "max-age";

    public override bool AcceptsAppendType(string? contentType) => IsPartialUpload(contentType);

    public override void WriteCapabilities(IHeaderDictionary headers, UploadLimits limits, TimeSpan lifetime)
    {
        base.WriteCapabilities(headers, limits, lifetime);

        // Drafts -10 and -11 require it; -12 dropped the requirement, and a header more does no harm.
        headers["Accept-Patch"] = PartialUploadType;
    }

    public override string? FileName(HttpRequest request) => Media.FileNames.FromContentDisposition(request.Headers.ContentDisposition);

    protected override ProblemHttpResult MismatchProblem(long? expected, long provided, string detail) =>
        MismatchingUploadOffset(expected, provided, detail);

    protected override ProblemHttpResult LengthProblem(string detail) => InconsistentUploadLength(detail);
}
