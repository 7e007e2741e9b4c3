using MediaService.ApiFrontend.Http;
using MediaService.ApiFrontend.Tus.Protocols;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MediaService.ApiFrontend.Tus;

/// <summary>
/// Which resumable-upload protocol a request speaks on <c>/files/</c>: tus 1.0.0 (<c>Tus-Resumable</c>), or one
/// interop version of the IETF draft "Resumable Uploads for HTTP" (<c>Upload-Draft-Interop-Version</c>). They share
/// the endpoints, the items and the writer; what differs between them is decided here, one object per protocol, so
/// that the handlers ask the request's protocol instead of testing versions:
/// <list type="table">
///   <item><term>5</term><description>draft-03 (tus-js-client's <c>ietf-draft-03</c>): appends of any content type, no
///   limits, a plain 409 on a wrong offset.</description></item>
///   <item><term>6</term><description>drafts -04 and -05 (tus-js-client's <c>ietf-draft-05</c>, iOS 18):
///   appends in <c>application/partial-upload</c>, <c>Upload-Limit</c> with the lifetime as <c>expires</c>, the
///   <c>mismatching-upload-offset</c> problem.</description></item>
///   <item><term>7</term><description>drafts -06 to -08: the lifetime renamed <c>max-age</c>, the
///   <c>inconsistent-upload-length</c> problem.</description></item>
///   <item><term>8</term><description>drafts -09 to -12 (iOS 26): limits announced on every OPTIONS, HEAD and
///   creation answer, <c>Accept-Patch</c> on OPTIONS (drafts -10, -11), offset retrieval by GET as by HEAD, the
///   file name from <c>Content-Disposition</c>.</description></item>
/// </list>
/// <para>
/// No <c>104 (Upload Resumption Supported)</c> interim response is sent: ASP.NET Core 10 has no API for an interim
/// response other than <c>100 Continue</c> (Kestrel writes that one itself, from a fixed byte string in its internal
/// <c>Http1OutputProducer</c>; HTTP/2 and HTTP/3 likewise only send 100; dotnet/aspnetcore#27851, "Add API for
/// Emitting Informational Responses (1xx)", is open). Writing one would mean reflection into Kestrel's internals, which
/// a patch release may break. The draft makes 104 optional ("unless the server is not capable of sending interim
/// responses"): a client learns the upload's URL from the 201 of a creation, so a creation sent with
/// <c>Upload-Complete: ?0</c> (or with no content) is resumable from its first byte.
/// </para>
/// </summary>
public abstract class ResumableProtocol
{
    private const string Key = "media.resumable-protocol";

    /// <summary>The appended bytes' media type of the draft since -04.</summary>
    public const string PartialUploadType = "application/partial-upload";

    /// <summary>tus 1.0.0.</summary>
    public static readonly ResumableProtocol Tus = new TusProtocol();

    /// <summary>The drafts we answer, by interop version (each its own class in <c>Protocols/</c>).</summary>
    public static readonly IReadOnlyList<DraftProtocol> Drafts = [new DraftInterop5(), new DraftInterop6(), new DraftInterop7(), new DraftInterop8()];

    /// <summary>The interop versions we answer in.</summary>
    public static IEnumerable<string> DraftVersions => Drafts.Select(d => d.InteropVersion);

    /// <summary>The request's protocol (tus when it was not classified, as on OPTIONS without a version).</summary>
    public static ResumableProtocol Of(HttpContext context) => context.Items[Key] as ResumableProtocol ?? Tus;

    /// <summary>The request's draft interop version, when it speaks the IETF draft.</summary>
    public static string? DraftVersion(HttpContext context) => (Of(context) as DraftProtocol)?.InteropVersion;

    /// <summary>
    /// Remembers the request's protocol and sets the answer's protocol header; false when it speaks neither one we
    /// support (a draft version we do not know, or no Tus-Resumable of our version).
    /// </summary>
    public static bool TryClassify(HttpContext context)
    {
        var version = context.Request.Headers[TusHeaders.DraftInteropVersion];
        if (version.Count > 0)
        {
            // An Integer (RFC 9651): digits only; "08" is not 8, so it is not ours either.
            var named = TusHeaders.InteropVersion(version);
            var draft = Drafts.FirstOrDefault(d => d.InteropVersion == named);
            if (draft is null)
            {
                return false;
            }

            context.Items[Key] = draft;
            context.Response.Headers["Upload-Draft-Interop-Version"] = draft.InteropVersion;
            return true;
        }

        context.Items[Key] = Tus;
        context.Response.Headers["Tus-Resumable"] = TusEndpoints.Version;
        return TusHeaders.SpeaksTus(context.Request.Headers[TusHeaders.TusResumable]);
    }

    /// <summary>True for a draft of the IETF protocol.</summary>
    public abstract bool IsDraft { get; }

    /// <summary>Whether a creation may defer its length with <c>Upload-Defer-Length</c> (tus' creation-defer-length;
    /// the draft has no such header: a creation without a length has it set by the upload's end).</summary>
    public virtual bool HasDeferLength => false;

    /// <summary>Whether an append's content type fits the protocol.</summary>
    public abstract bool AcceptsAppendType(string? contentType);

    /// <summary>The creation's declared completeness: null for tus (which has none), the parsed <c>Upload-Complete</c>
    /// for a draft (null again when it is missing or not a Boolean, which the draft says to ignore).</summary>
    public virtual bool? UploadComplete(HttpRequest request) => null;

    /// <summary>Writes what the protocol announces about an upload resource (HEAD, creation, append, 413):
    /// <c>Upload-Limit</c> for the drafts that have it.</summary>
    public virtual void WriteLimits(IHeaderDictionary headers, UploadLimits limits, DateTimeOffset? expiresAt, DateTimeOffset now)
    {
    }

    /// <summary>Writes the answer to OPTIONS on <c>/files/</c> (capabilities before any upload exists).</summary>
    public abstract void WriteCapabilities(IHeaderDictionary headers, UploadLimits limits, TimeSpan lifetime);

    /// <summary>Writes whether the answer is the result of the completed upload (drafts only).</summary>
    public virtual void WriteComplete(IHeaderDictionary headers, bool complete)
    {
    }

    /// <summary>Whether GET of an upload resource retrieves its offset, as HEAD does.</summary>
    public virtual bool RetrievesOffsetByGet => false;

    /// <summary>The file name the creation request names outside the protocol's metadata (a draft's
    /// <c>Content-Disposition</c>), or null.</summary>
    public virtual string? FileName(HttpRequest request) => null;

    /// <summary>The answer to an append at the wrong offset.</summary>
    public abstract ProblemHttpResult MismatchingOffset(HttpContext context, long? expected, long provided, string detail);

    /// <summary>The answer to length indications that disagree (Upload-Length, Content-Length with completion, the
    /// length recorded before).</summary>
    public abstract ProblemHttpResult InconsistentLength(HttpContext context, string detail);

    /// <summary>The plain answer to a malformed upload request.</summary>
    protected static ProblemHttpResult Bad(string detail) =>
        ApiErrors.BadUploadRequest.Problem(detail);

    /// <summary>The media type of a Content-Type, without its parameters.</summary>
    protected static string? MediaTypeOf(string? contentType) => contentType?.Split(';')[0].Trim();
}
