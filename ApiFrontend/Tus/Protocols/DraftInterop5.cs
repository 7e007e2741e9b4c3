namespace MediaService.ApiFrontend.Tus.Protocols;

/// <summary>Interop version 5, draft-03 (tus-js-client's <c>ietf-draft-03</c>): appends of any content type, no
/// limits, a plain 409 on a wrong offset.</summary>
internal sealed class DraftInterop5 : DraftProtocol
{
    public override string InteropVersion => "5";

    // Version 5 names no type for appends.
    public override bool AcceptsAppendType(string? contentType) => true;
}
