using System.Globalization;
using System.Text;
using MediaService.ApiFrontend.Http;
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

    /// <summary>The drafts we answer, by interop version.</summary>
    public static readonly IReadOnlyList<DraftProtocol> Drafts =
    [
        new("5", partialUploadOnly: false, limitAgeKey: null, mismatchProblem: false, lengthProblem: false, announcesEverywhere: false),
        new("6", partialUploadOnly: false, limitAgeKey: "expires", mismatchProblem: true, lengthProblem: false, announcesEverywhere: false),
        new("7", partialUploadOnly: true, limitAgeKey: "max-age", mismatchProblem: true, lengthProblem: true, announcesEverywhere: false),
        new("8", partialUploadOnly: true, limitAgeKey: "max-age", mismatchProblem: true, lengthProblem: true, announcesEverywhere: true),
    ];

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

    private static ProblemHttpResult Bad(string detail) =>
        ApiErrors.BadUploadRequest.Problem(detail);

    private sealed class TusProtocol : ResumableProtocol
    {
        public override bool IsDraft => false;

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

    /// <summary>One interop version of the IETF draft.</summary>
    public sealed class DraftProtocol : ResumableProtocol
    {
        private const string MismatchType = "https://iana.org/assignments/http-problem-types#mismatching-upload-offset";
        private const string LengthType = "https://iana.org/assignments/http-problem-types#inconsistent-upload-length";

        private readonly bool _partialUploadOnly;
        private readonly string? _limitAgeKey;
        private readonly bool _mismatchProblem;
        private readonly bool _lengthProblem;
        private readonly bool _announcesEverywhere;

        internal DraftProtocol(string version, bool partialUploadOnly, string? limitAgeKey, bool mismatchProblem, bool lengthProblem, bool announcesEverywhere)
        {
            InteropVersion = version;
            _partialUploadOnly = partialUploadOnly;
            _limitAgeKey = limitAgeKey;
            _mismatchProblem = mismatchProblem;
            _lengthProblem = lengthProblem;
            _announcesEverywhere = announcesEverywhere;
        }

        /// <summary>The value of <c>Upload-Draft-Interop-Version</c>.</summary>
        public string InteropVersion { get; }

        public override bool IsDraft => true;

        public override bool RetrievesOffsetByGet => _announcesEverywhere;

        // Version 5 names no type; 6 took tus-js-client's tus type too; 7 and later require partial-upload.
        public override bool AcceptsAppendType(string? contentType) => InteropVersion switch
        {
            "5" => true,
            _ when string.Equals(MediaTypeOf(contentType), PartialUploadType, StringComparison.OrdinalIgnoreCase) => true,
            _ => !_partialUploadOnly && string.Equals(MediaTypeOf(contentType), TusEndpoints.OffsetContentType, StringComparison.OrdinalIgnoreCase),
        };

        public override bool? UploadComplete(HttpRequest request) => TusHeaders.ParseBoolean(request.Headers[TusHeaders.UploadComplete]);

        public override void WriteLimits(IHeaderDictionary headers, UploadLimits limits, DateTimeOffset? expiresAt, DateTimeOffset now)
        {
            if (_limitAgeKey is null)
            {
                return;
            }

            var value = new StringBuilder(limits.Dictionary());
            if (expiresAt is { } expires)
            {
                var seconds = Math.Max(0, (long)Math.Floor((expires - now).TotalSeconds));
                value.Append(CultureInfo.InvariantCulture, $", {_limitAgeKey}={seconds}");
            }

            headers["Upload-Limit"] = value.ToString();
        }

        public override void WriteCapabilities(IHeaderDictionary headers, UploadLimits limits, TimeSpan lifetime)
        {
            if (_limitAgeKey is not null)
            {
                headers["Upload-Limit"] = $"{limits.Dictionary()}, {_limitAgeKey}={(long)lifetime.TotalSeconds}";
            }

            if (_announcesEverywhere)
            {
                // Drafts -10 and -11 require it; -12 dropped the requirement, and a header more does no harm.
                headers["Accept-Patch"] = PartialUploadType;
            }
        }

        public override void WriteComplete(IHeaderDictionary headers, bool complete) => headers["Upload-Complete"] = complete ? "?1" : "?0";

        public override string? FileName(HttpRequest request) =>
            _announcesEverywhere ? Media.FileNames.FromContentDisposition(request.Headers.ContentDisposition) : null;

        public override ProblemHttpResult MismatchingOffset(HttpContext context, long? expected, long provided, string detail)
        {
            // The answer carries the right offset, and says the upload is not complete: the client resumes from it.
            if (expected is { } offset)
            {
                context.Response.Headers["Upload-Offset"] = offset.ToString(CultureInfo.InvariantCulture);
            }

            context.Response.Headers["Upload-Complete"] = "?0";
            if (!_mismatchProblem)
            {
                return ApiErrors.UploadConflict.Problem(detail);
            }

            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Offset from request does not match offset of resource",
                detail: detail, type: MismatchType,
                extensions: new Dictionary<string, object?> { ["expected-offset"] = expected, ["provided-offset"] = provided, ["code"] = Problems.UploadConflict });
        }

        public override ProblemHttpResult InconsistentLength(HttpContext context, string detail)
        {
            context.Response.Headers["Upload-Complete"] = "?0";
            return _lengthProblem
                ? TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Inconsistent length values for upload", detail: detail,
                    type: LengthType, extensions: new Dictionary<string, object?> { ["code"] = Problems.UploadRejected })
                : Bad(detail);
        }
    }

    private static string? MediaTypeOf(string? contentType) => contentType?.Split(';')[0].Trim();
}

/// <summary>The limits an upload resource holds to, as the drafts' <c>Upload-Limit</c> names them.</summary>
/// <param name="MaxSize">The largest upload, in bytes (<c>Uploads:MaxUploadBytes</c>).</param>
/// <param name="MaxAppendSize">The most one request may carry, in bytes (<c>Uploads:MaxAppendBytes</c>).</param>
public sealed record UploadLimits(long MaxSize, long MaxAppendSize)
{
    /// <summary>From the upload options.</summary>
    public static UploadLimits Of(DataPlane.UploadOptions options) => new(options.MaxUploadBytes, Math.Min(options.MaxAppendBytes, options.MaxUploadBytes));

    /// <summary>The size members of the Structured Fields Dictionary (RFC 9651). Appends of any size, even empty, are
    /// taken (the writer buffers what is below an S3 part), so there is no min-append-size; nor a min-size.</summary>
    public string Dictionary() => string.Create(CultureInfo.InvariantCulture, $"max-size={MaxSize}, max-append-size={MaxAppendSize}");
}
