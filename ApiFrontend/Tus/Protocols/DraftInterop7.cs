using Microsoft.AspNetCore.Http.HttpResults;

namespace MediaService.ApiFrontend.Tus.Protocols;

/// <summary>Interop version 7, drafts -06 to -08: appends only in <c>application/partial-upload</c>, the lifetime
/// renamed <c>max-age</c>, the <c>inconsistent-upload-length</c> problem.</summary>
internal sealed class DraftInterop7 : DraftProtocol
{
    public override string InteropVersion => "7";

    protected override string? LimitAgeKey => "max-age";

    public override bool AcceptsAppendType(string? contentType) => IsPartialUpload(contentType);

    protected override ProblemHttpResult MismatchProblem(long? expected, long provided, string detail) =>
        MismatchingUploadOffset(expected, provided, detail);

    protected override ProblemHttpResult LengthProblem(string detail) => InconsistentUploadLength(detail);
}
