using Microsoft.AspNetCore.Http.HttpResults;

namespace MediaService.ApiFrontend.Tus.Protocols;

/// <summary>Interop version 6, drafts -04 and -05 (tus-js-client's <c>ietf-draft-05</c>, iOS 18): appends in
/// <c>application/partial-upload</c> (tus-js-client's tus type taken too), <c>Upload-Limit</c> with the lifetime as
/// <c>expires</c>, the <c>mismatching-upload-offset</c> problem.</summary>
internal sealed class DraftInterop6 : DraftProtocol
{
    public override string InteropVersion => "6";

    protected override string? LimitAgeKey => "expires";

    public override bool AcceptsAppendType(string? contentType) => IsPartialUpload(contentType) || IsTusChunk(contentType);

    protected override ProblemHttpResult MismatchProblem(long? expected, long provided, string detail) =>
        MismatchingUploadOffset(expected, provided, detail);
}
