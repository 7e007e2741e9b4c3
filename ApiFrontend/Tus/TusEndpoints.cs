using System.Collections.Immutable;
using System.Globalization;
using MediaService.ApiFrontend.Http;
using MediaService.ApiFrontend.Media;
using MediaService.ApiFrontend.Uploads;
using MediaService.DataPlane;
using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace MediaService.ApiFrontend.Tus;

/// <summary>
/// tus 1.0.0 at <c>/files/</c>: core, creation, creation-with-upload, creation-defer-length, expiration and
/// termination. A tus upload is a media item: its id is the item's id and <c>/media/{id}</c> serves it. Any
/// frontend serves any request: the item's grain orders the writers, so no sticky sessions are needed.
/// </summary>
public static partial class TusEndpoints
{
    public const string Version = "1.0.0";
    public const string Extensions = "creation,creation-with-upload,creation-defer-length,expiration,checksum,checksum-trailer,termination,concatenation,concatenation-unfinished";

    /// <summary>tus: the checksum did not match; the chunk was discarded.</summary>
    public const int ChecksumMismatch = ApiErrors.ChecksumMismatchStatus;
    public const string OffsetContentType = "application/offset+octet-stream";

    /// <summary>The headers a browser client must be able to read (CORS).</summary>
    public static readonly string[] ExposedHeaders =
    [
        "Location", "Upload-Offset", "Upload-Length", "Upload-Defer-Length", "Upload-Metadata", "Upload-Expires", "Upload-Concat",
        "Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size",
        "Upload-Complete", "Upload-Limit", "Upload-Draft-Interop-Version", "Accept-Patch",
    ];

    /// <summary>Maps <c>/files</c>.</summary>
    public static IEndpointRouteBuilder MapTus(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/files").WithTags("tus").AddEndpointFilter(RequireTusVersion);
        // Capabilities are public: a client may discover them before it has a key.
        group.MapMethods("/", [HttpMethods.Options], Options).WithName("TusOptions").WithSummary("tus capabilities.").AllowAnonymous();
        group.MapMethods("/{id:long}", [HttpMethods.Options], Options).WithName("TusUploadOptions").WithSummary("tus capabilities (at an upload's URL).")
            .AllowAnonymous();
        group.MapPost("/", CreateAsync).WithName("TusCreate").WithSummary("tus creation (with upload, deferred length).")
            .Accepts<Stream>(OffsetContentType, "*/*")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).Produces(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).Produces(StatusCodes.Status415UnsupportedMediaType);
        group.MapMethods("/{id:long}", [HttpMethods.Head], HeadAsync).WithName("TusHead").WithSummary("tus offset retrieval.")
            .Produces(StatusCodes.Status410Gone).Produces(StatusCodes.Status412PreconditionFailed).Produces(StatusCodes.Status423Locked);
        group.MapGet("/{id:long}", GetOffsetAsync).WithName("ResumableOffsetByGet")
            .WithSummary("IETF draft (interop version 8) offset retrieval by GET, as by HEAD.")
            .Produces(StatusCodes.Status410Gone).Produces(StatusCodes.Status412PreconditionFailed).Produces(StatusCodes.Status423Locked);
        group.MapPatch("/{id:long}", PatchAsync).WithName("TusPatch").WithSummary("tus append.").Accepts<Stream>(OffsetContentType, "*/*")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status409Conflict)
            .Produces(StatusCodes.Status410Gone).Produces(StatusCodes.Status412PreconditionFailed).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .Produces(StatusCodes.Status415UnsupportedMediaType).ProducesProblem(ChecksumMismatch);
        group.MapDelete("/{id:long}", DeleteAsync).WithName("TusTerminate").WithSummary("tus termination.")
            .ProducesProblem(StatusCodes.Status409Conflict).Produces(StatusCodes.Status410Gone).Produces(StatusCodes.Status412PreconditionFailed);
        return app;
    }

    /// <summary>Honours <c>X-HTTP-Method-Override</c> on <c>/files</c> (for clients behind proxies that only pass GET and POST).</summary>
    public static IApplicationBuilder UseTusMethodOverride(this IApplicationBuilder app) =>
        app.Use(static (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/files")
                && context.Request.Headers.TryGetValue("X-HTTP-Method-Override", out var method)
                && method.ToString() is { Length: > 0 } overridden)
            {
                context.Request.Method = overridden.ToUpperInvariant();
            }

            return next(context);
        });

    // Every request but OPTIONS must speak our version: otherwise 412 with the versions we speak, untouched.
    private static async ValueTask<object?> RequireTusVersion(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var http = invocation.HttpContext;
        var known = ResumableProtocol.TryClassify(http);
        if (!HttpMethods.IsOptions(http.Request.Method) && !known)
        {
            http.Response.Headers["Tus-Version"] = Version;
            if (http.Request.Headers.ContainsKey("Upload-Draft-Interop-Version"))
            {
                return ApiErrors.UnsupportedInteropVersion.Problem($"This server speaks Upload-Draft-Interop-Version {string.Join(", ", ResumableProtocol.DraftVersions)} of the IETF draft, and tus {Version}.");
            }

            return TypedResults.StatusCode(StatusCodes.Status412PreconditionFailed);
        }

        return await next(invocation);
    }

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

    internal static async Task<Results<Created, StatusCodeHttpResult, ProblemHttpResult>> CreateAsync(
        HttpContext context, MediaIngest ingest, UploadWriter writer, TusConcatenation concatenation,
        IOptions<UploadOptions> uploads, IOptions<TusOptions> tus, Limits.Quotas quotas, CancellationToken cancellationToken)
    {
        var request = context.Request;
        var max = uploads.Value.MaxUploadBytes;
        var hasLength = request.Headers.TryGetValue("Upload-Length", out var lengthHeader);
        var deferred = request.Headers.TryGetValue("Upload-Defer-Length", out var deferHeader);
        var concat = ConcatKind.None;
        var partials = ImmutableArray<long>.Empty;
        if (request.Headers.TryGetValue("Upload-Concat", out var concatHeader))
        {
            if (concatHeader == "partial")
            {
                concat = ConcatKind.Partial;
            }
            else if (TusConcatenation.TryParseFinal(concatHeader.ToString(), out partials))
            {
                concat = ConcatKind.Final;
            }
            else
            {
                return Bad("Upload-Concat must be 'partial' or 'final;' followed by the URLs of partial uploads of this server.");
            }
        }

        var metadataHeader = request.Headers["Upload-Metadata"].ToString();
        if (!TusMetadata.TryParse(metadataHeader, tus.Value.MaxMetadataBytes, out var metadata, out var metadataError))
        {
            return Bad(metadataError!);
        }

        var protocol = ResumableProtocol.Of(context);
        var limits = UploadLimits.Of(uploads.Value);
        var fileName = FileNames.Sanitize(TusMetadata.Text(metadata, "filename") ?? protocol.FileName(request), uploads.Value.MaxFileNameLength);
        var contentType = MediaTypes.Declared(TusMetadata.Text(metadata, "filetype"), fileName);
        var declared = new CreateMediaItem(fileName, contentType, null, metadataHeader.Length == 0 ? null : metadataHeader, tus.Value.Expiry, concat);
        if (concat == ConcatKind.Final)
        {
            if (hasLength || deferred)
            {
                return Bad("A final upload takes its length from its partial uploads: send no Upload-Length.");
            }

            return await CreateFinalAsync(context, ingest, concatenation, declared with { ConcatParts = partials }, max, quotas, cancellationToken);
        }

        var draft = protocol.IsDraft;
        var complete = protocol.UploadComplete(request);
        if (draft && complete is null)
        {
            return Bad("Send Upload-Complete: ?0 or ?1.");
        }

        // The draft has no Upload-Defer-Length: a creation without Upload-Length has its length set by its end.
        if (!draft && (hasLength == deferred || (deferred && deferHeader != "1")))
        {
            return Bad("Send either Upload-Length or Upload-Defer-Length: 1.");
        }

        long? length = null;
        if (hasLength)
        {
            if (!TryParseNonNegative(lengthHeader, out var parsed))
            {
                return Bad("Upload-Length must be a non-negative integer.");
            }

            if (parsed > max)
            {
                protocol.WriteLimits(context.Response.Headers, limits, null, Now(context));
                return ApiErrors.UploadTooLarge.Problem($"Tus-Max-Size is {max}.");
            }

            // The draft's two indications of a length (Upload-Length, and Content-Length of a completing request) must agree.
            if (complete == true && request.ContentLength is { } whole && whole != parsed)
            {
                return protocol.InconsistentLength(context, $"Upload-Length is {parsed}, but this request completes the upload with {whole} bytes.");
            }

            length = parsed;
        }

        var hasBody = request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);
        // The draft's creation request carries the resource itself: its Content-Type is the file's, not a chunk's.
        if (draft && hasBody && TusMetadata.Text(metadata, "filetype") is null)
        {
            contentType = MediaTypes.Declared(request.ContentType, fileName);
        }

        if (hasBody && !draft && !protocol.AcceptsAppendType(request.ContentType))
        {
            return TypedResults.StatusCode(StatusCodes.Status415UnsupportedMediaType);
        }

        if (await quotas.CheckNewUploadAsync(Access.OwnerPropagation.Owner(context.User), length, cancellationToken) is { } overQuota)
        {
            return overQuota;
        }

        var (id, grain, expiresAt) = await ingest.CreateItemAsync(declared with { DeclaredContentType = contentType, DeclaredLength = length });
        LogCreated(Logger(context), id, length);

        if (hasBody || length == 0 || complete == true)
        {
            // creation-with-upload (and an empty upload, complete at once): the body is the first chunk.
            var appended = await AppendAsync(context, id, grain, new BeginAppend(0, null), writer, uploads.Value, quotas, cancellationToken, complete == true);
            if (appended.Status is not null)
            {
                return appended.Status;
            }

            if (appended.Problem is not null)
            {
                return appended.Problem;
            }

            context.Response.Headers["Upload-Offset"] = appended.Offset.ToString(CultureInfo.InvariantCulture);
            expiresAt = appended.ExpiresAt;
        }
        else if (draft)
        {
            // The draft acknowledges the offset of every creation, an empty one too.
            context.Response.Headers["Upload-Offset"] = "0";
            protocol.WriteComplete(context.Response.Headers, false);
        }

        protocol.WriteLimits(context.Response.Headers, limits, expiresAt, Now(context));
        WriteExpires(context, expiresAt);
        return TypedResults.Created(LocationOf(request, id));
    }

    private static async Task<Results<Created, StatusCodeHttpResult, ProblemHttpResult>> CreateFinalAsync(
        HttpContext context, MediaIngest ingest, TusConcatenation concatenation, CreateMediaItem final, long max, Limits.Quotas quotas,
        CancellationToken cancellationToken)
    {
        // Each partial once: a final listing one partial many times would copy it many times (and past the quota).
        if (TusConcatenation.Repeated(final.ConcatParts) is { } repeated)
        {
            return Bad(repeated);
        }

        var (parts, error) = await concatenation.ReadPartialsAsync(final.ConcatParts);
        if (error is not null)
        {
            return Bad(error);
        }

        long? length = parts.All(p => p.Length is not null) ? parts.Sum(p => p.Length!.Value) : null;
        if (length > max)
        {
            return ApiErrors.UploadTooLarge.Problem($"Tus-Max-Size is {max}.");
        }

        // The final is a copy of its partials: their summed length must fit the owner's quota (at least the bytes they
        // hold now, when a length is still unknown; the assembly is capped at the room then).
        var owner = Access.OwnerPropagation.Owner(context.User);
        if (await quotas.CheckDeclaredLengthAsync(owner, length ?? parts.Sum(p => Math.Max(p.Offset, p.Length ?? 0)), cancellationToken) is { } overQuota)
        {
            return overQuota;
        }

        var (id, grain, expiresAt) = await ingest.CreateItemAsync(final with { DeclaredLength = length });
        LogCreated(Logger(context), id, length);

        try
        {
            // concatenation-unfinished: when a partial is still receiving, the first request that finds them all
            // finished assembles the final upload.
            if (await concatenation.TryAssembleAsync(id, grain, (await grain.GetMetadataAsync())!, context, cancellationToken) is not null)
            {
                expiresAt = null;
            }
        }
        catch (ObjectStoreUnavailableException ex)
        {
            context.Response.Headers.RetryAfter = Math.Ceiling(ex.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            return ApiErrors.StorageUnavailable.Problem("The object store did not answer while assembling the upload. Retry later.");
        }
        catch (Limits.QuotaExceededException ex)
        {
            return quotas.Exceeded(ex.Room);
        }

        WriteExpires(context, expiresAt);
        return TypedResults.Created(LocationOf(context.Request, id));
    }

    internal static async Task<Results<Ok, StatusCodeHttpResult, ProblemHttpResult>> HeadAsync(
        long id, HttpContext context, IClusterClient cluster, TusConcatenation concatenation, IOptions<UploadOptions> uploads,
        CancellationToken cancellationToken)
    {
        context.Response.Headers.CacheControl = "no-store";
        var protocol = ResumableProtocol.Of(context);
        var draft = protocol.IsDraft;
        if (draft && (context.Request.Headers.ContainsKey("Upload-Offset") || context.Request.Headers.ContainsKey("Upload-Complete")
            || context.Request.Headers.ContainsKey("Upload-Length")))
        {
            return Bad("An offset retrieval carries no upload headers.");
        }

        var grain = cluster.GetGrain<IMediaItemGrain>(id);
        var view = MediaIds.IsValid(id) ? await grain.GetMetadataAsync() : null;
        if (view is null)
        {
            return TypedResults.StatusCode(StatusCodes.Status404NotFound);
        }

        if (draft && view.Status == MediaStatus.Receiving && view.Concat != ConcatKind.Final)
        {
            // The draft: the offset this answer reports must be accepted by the next append, so a request the client gave
            // up on, still being received here, is fenced off first (its later parts are refused; what it recorded stays).
            try
            {
                view = await grain.FenceWritersAsync().WaitAsync(uploads.Value.CompletionWait, cancellationToken) ?? view;
            }
            catch (Exception ex) when (ex is TimeoutException or MediaException)
            {
                // Not fenced now (a long call of the old writer holds the item, or the database did not answer): an offset
                // that writer may still move is no answer; the draft lets a client retry an offset retrieval after a 5xx.
                context.Response.Headers.RetryAfter = "2";
                return ApiErrors.OffsetNotSettled.Problem("A request still writing to this upload could not be stopped in time. Ask again shortly.");
            }
        }

        if (view.Status == MediaStatus.Completing)
        {
            // Every byte is in S3 and the item is being assembled. An offset equal to the length would tell the client it
            // is done, so HEAD first finishes the assembly (or waits for the one running). If that takes longer, or S3
            // cannot do it now, the upload is answered as locked (tus; 423 is what tus clients retry on the same upload,
            // where a 5xx on HEAD makes tus-js-client start a new upload) or unavailable (IETF draft), with Retry-After.
            view = await FinishCompletionAsync(grain, uploads.Value.CompletionWait) ?? view;
            if (view.Status == MediaStatus.Completing)
            {
                context.Response.Headers.RetryAfter = "2";
                return draft
                    ? ApiErrors.UploadCompleting.Problem("Every byte is stored and the upload is being assembled. Ask again shortly.")
                    : TypedResults.StatusCode(StatusCodes.Status423Locked);
            }
        }

        if (view.Status is not (MediaStatus.Receiving or MediaStatus.Stored))
        {
            return TypedResults.StatusCode(StatusCodes.Status410Gone);
        }

        var headers = context.Response.Headers;
        if (view.Concat == ConcatKind.Final && view.Status == MediaStatus.Receiving)
        {
            try
            {
                view = await concatenation.TryAssembleAsync(id, grain, view, context, cancellationToken) ?? await grain.GetMetadataAsync() ?? view;
            }
            catch (MediaException ex) when (ex.Code is MediaErrorCode.StaleWriter or MediaErrorCode.OffsetMismatch or MediaErrorCode.InvalidState)
            {
                // Another request assembles it right now: this HEAD answers what is durable.
                view = await grain.GetMetadataAsync() ?? view;
            }
            catch (Limits.QuotaExceededException ex)
            {
                return concatenation.QuotaExceeded(ex.Room);
            }
        }

        if (TusConcatenation.HeaderOf(view) is { } concatValue)
        {
            headers["Upload-Concat"] = concatValue;
        }

        // A final upload has no offset until it is assembled.
        if (view.Concat != ConcatKind.Final || view.Status == MediaStatus.Stored)
        {
            headers["Upload-Offset"] = view.Offset.ToString(CultureInfo.InvariantCulture);
        }

        if (view.Length is { } length)
        {
            headers["Upload-Length"] = length.ToString(CultureInfo.InvariantCulture);
        }
        else if (!draft)
        {
            headers["Upload-Defer-Length"] = "1";
        }

        protocol.WriteComplete(headers, view.Status == MediaStatus.Stored);
        protocol.WriteLimits(headers, UploadLimits.Of(uploads.Value), view.Status == MediaStatus.Receiving ? view.ExpiresAt : null, Now(context));
        if (view.UploadMetadata is { } metadata)
        {
            headers["Upload-Metadata"] = metadata;
        }

        WriteExpires(context, view.ExpiresAt);
        return TypedResults.Ok();
    }

    /// <summary>GET of an upload resource: the offset retrieval of interop version 8 (as HEAD, with no content);
    /// 405 for the protocols that have none.</summary>
    internal static async Task<Results<Ok, StatusCodeHttpResult, ProblemHttpResult>> GetOffsetAsync(
        long id, HttpContext context, IClusterClient cluster, TusConcatenation concatenation, IOptions<UploadOptions> uploads,
        CancellationToken cancellationToken)
    {
        if (!ResumableProtocol.Of(context).RetrievesOffsetByGet)
        {
            context.Response.Headers.Allow = "OPTIONS, HEAD, PATCH, DELETE";
            return TypedResults.StatusCode(StatusCodes.Status405MethodNotAllowed);
        }

        return await HeadAsync(id, context, cluster, concatenation, uploads, cancellationToken);
    }

    internal static async Task<Results<NoContent, StatusCodeHttpResult, ProblemHttpResult>> PatchAsync(
        long id, HttpContext context, IClusterClient cluster, UploadWriter writer, IOptions<UploadOptions> uploads, Limits.Quotas quotas,
        CancellationToken cancellationToken)
    {
        var request = context.Request;
        var protocol = ResumableProtocol.Of(context);
        if (!protocol.AcceptsAppendType(request.ContentType))
        {
            return protocol.IsDraft
                ? ApiErrors.UnsupportedMediaType.Problem($"An append is sent as {ResumableProtocol.PartialUploadType}.")
                : TypedResults.StatusCode(StatusCodes.Status415UnsupportedMediaType);
        }

        var complete = protocol.IsDraft ? protocol.UploadComplete(request) : false;
        if (complete is null)
        {
            return Bad("Send Upload-Complete: ?0 or ?1.");
        }

        if (!TryParseNonNegative(request.Headers["Upload-Offset"], out var offset))
        {
            return Bad("Upload-Offset must be a non-negative integer.");
        }

        long? length = null;
        if (request.Headers.TryGetValue("Upload-Length", out var lengthHeader))
        {
            if (!TryParseNonNegative(lengthHeader, out var parsed))
            {
                return Bad("Upload-Length must be a non-negative integer.");
            }

            if (complete == true && request.ContentLength is { } rest && offset + rest != parsed)
            {
                return protocol.InconsistentLength(context,
                    $"Upload-Length is {parsed}, but this request completes the upload at {offset} + {rest} bytes.");
            }

            length = parsed;
        }

        if (!MediaIds.IsValid(id))
        {
            return TypedResults.StatusCode(StatusCodes.Status404NotFound);
        }

        // A deferred length is declared now: it must fit the owner's storage quota.
        if (length is { } declaredNow && await quotas.CheckDeclaredLengthAsync(Access.OwnerPropagation.Owner(context.User), declaredNow, cancellationToken) is { } overQuota)
        {
            return overQuota;
        }

        var grain = cluster.GetGrain<IMediaItemGrain>(id);
        var appended = await AppendAsync(context, id, grain, new BeginAppend(offset, length), writer, uploads.Value, quotas, cancellationToken, complete.Value);
        if (appended.Status is not null)
        {
            return appended.Status;
        }

        if (appended.Problem is not null)
        {
            return appended.Problem;
        }

        context.Response.Headers["Upload-Offset"] = appended.Offset.ToString(CultureInfo.InvariantCulture);
        WriteExpires(context, appended.ExpiresAt);
        return TypedResults.NoContent();
    }

    internal static async Task<Results<NoContent, StatusCodeHttpResult, ProblemHttpResult>> DeleteAsync(long id, HttpContext context, IClusterClient cluster)
    {
        if (!MediaIds.IsValid(id))
        {
            return TypedResults.StatusCode(StatusCodes.Status404NotFound);
        }

        try
        {
            await cluster.GetGrain<IMediaItemGrain>(id).TerminateAsync();
            return TypedResults.NoContent();
        }
        catch (MediaException ex)
        {
            Problems.WriteRetryAfter(context, ex);
            return FromGrain(ex);
        }
    }

    /// <summary>How an append answered: the new offset and expiry, or the status or problem to send instead.</summary>
    private sealed record Appended(long Offset, DateTimeOffset? ExpiresAt, StatusCodeHttpResult? Status, ProblemHttpResult? Problem)
    {
        public static Appended Refused(ProblemHttpResult problem) => new(0, null, null, problem);
    }

    /// <summary>One append: the grant, the body into S3, and the tus answer for every way it can fail.</summary>
    private static async Task<Appended> AppendAsync(
        HttpContext context, long id, IMediaItemGrain grain, BeginAppend begin, UploadWriter writer, UploadOptions options, Limits.Quotas quotas,
        CancellationToken cancellationToken, bool endsContent = false)
    {
        TusChecksum? checksum = null;
        var request = context.Request;
        if (request.Headers.TryGetValue("Upload-Checksum", out var checksumHeader))
        {
            if (!TusChecksum.TryParse(checksumHeader.ToString(), out var algorithm, out var digest))
            {
                return Appended.Refused(Bad($"Upload-Checksum must be '<algorithm> <base64 digest>' with one of {TusChecksum.Algorithms}."));
            }

            checksum = TusChecksum.FromHeader(algorithm, digest);
        }
        else if (request.Headers.Trailer.Any(t => t?.Contains("Upload-Checksum", StringComparison.OrdinalIgnoreCase) == true))
        {
            checksum = TusChecksum.FromTrailer(() => request.CheckTrailersAvailable() ? request.GetTrailer("Upload-Checksum").ToString() : null);
        }

        using var verifying = checksum;
        long? room = null;
        try
        {
            var grant = await grain.BeginAppendAsync(begin with { Parts = writer.PartsToReserve(request.ContentLength) });
            var remaining = (grant.Length ?? options.MaxUploadBytes) - grant.Offset;

            // Without a length, nothing at creation counted these bytes: the owner's storage room caps the body.
            room = grant.Length is null ? await quotas.RoomAsync(Access.OwnerPropagation.Owner(context.User), cancellationToken, id, grant.Offset) : null;
            if (room < remaining && context.Request.ContentLength > room)
            {
                return Appended.Refused(quotas.Exceeded(room.Value));
            }

            if (context.Request.ContentLength > remaining)
            {
                ResumableProtocol.Of(context).WriteLimits(context.Response.Headers, UploadLimits.Of(options), grant.ExpiresAt, Now(context));
                return Appended.Refused(ApiErrors.BeyondUploadLength.Problem($"The upload has {remaining} bytes left; this request carries {context.Request.ContentLength}."));
            }

            if (context.Request.ContentLength > options.MaxAppendBytes)
            {
                ResumableProtocol.Of(context).WriteLimits(context.Response.Headers, UploadLimits.Of(options), grant.ExpiresAt, Now(context));
                return Appended.Refused(ApiErrors.RequestTooLarge.Problem($"One request may carry at most {options.MaxAppendBytes} bytes."));
            }

            // Some slack over what is left: with a tiny limit Kestrel refuses even an empty chunked body (tus-js-client's
            // final PATCH of a deferred-length upload). The writer never takes bytes past the length and answers 413 itself.
            BodyLimits.Apply(context, Math.Min(remaining + 64 * 1024, options.MaxAppendBytes), options);

            var body = Limits.ThrottledBody.For(context, request.Body);
            var outcome = await writer.AppendAsync(
                id, grain, grant, room < remaining ? new Limits.QuotaCappedBody(body, room.Value) : body, request.ContentLength, endsContent, cancellationToken, checksum);
            ResumableProtocol.Of(context).WriteComplete(context.Response.Headers, outcome.Stored is not null);
            if (outcome.Interrupted is { } reason)
            {
                LogInterrupted(Logger(context), id, outcome.Offset, reason);
            }

            return new Appended(outcome.Offset, outcome.Stored is null ? grant.ExpiresAt : null, null, null);
        }
        // A stale writer too: a newer request took the upload over while this one was sending (a request the client
        // dropped can reach the item late). The draft's 409 then says where the upload stands, so the client resumes.
        catch (MediaException ex) when (ResumableProtocol.Of(context).IsDraft && ex.Code is MediaErrorCode.OffsetMismatch or MediaErrorCode.StaleWriter)
        {
            var expected = (await grain.GetMetadataAsync())?.Offset;
            return Appended.Refused(ResumableProtocol.Of(context).MismatchingOffset(context, expected, begin.Offset, ex.Message));
        }
        catch (MediaException ex) when (ResumableProtocol.Of(context).IsDraft && ex.Code == MediaErrorCode.Inconsistent && (begin.Length is not null || endsContent))
        {
            return Appended.Refused(ResumableProtocol.Of(context).InconsistentLength(context, ex.Message));
        }
        catch (MediaException ex) when (ResumableProtocol.Of(context).IsDraft && ex.Code == MediaErrorCode.InvalidState)
        {
            // The answer to a completion was lost and the client completes again, with nothing more: it is replayed.
            if (endsContent && request.ContentLength is null or 0 && await grain.GetMetadataAsync() is { } done
                && done.Status == MediaStatus.Stored && done.Offset == begin.Offset && done.Length == begin.Offset)
            {
                ResumableProtocol.Of(context).WriteComplete(context.Response.Headers, true);
                return new Appended(done.Offset, null, null, null);
            }

            return Appended.Refused(Bad("The upload is already complete."));
        }
        catch (MediaException ex)
        {
            Problems.WriteRetryAfter(context, ex);
            var result = FromGrain(ex).Result;
            return new Appended(0, null, result as StatusCodeHttpResult, result as ProblemHttpResult);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Appended.Refused(ApiErrors.BeyondUploadLength.Problem(ex.Message));
        }
        catch (Limits.QuotaExceededException ex)
        {
            return Appended.Refused(quotas.Exceeded(ex.Room));
        }
        catch (ChecksumMismatchException ex)
        {
            return Appended.Refused(ApiErrors.ChecksumMismatch.Problem(ex.Message));
        }
        catch (BeyondLengthException ex)
        {
            return Appended.Refused(ApiErrors.BeyondUploadLength.Problem(ex.Message));
        }
        catch (ObjectStoreUnavailableException ex)
        {
            context.Response.Headers.RetryAfter = Math.Ceiling(ex.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            return Appended.Refused(ApiErrors.StorageUnavailable.Problem("The object store did not answer; the upload keeps its last reported offset. Retry later."));
        }
    }

    /// <summary>Finishes (or waits for) the assembly of a completing item, for at most <paramref name="wait"/>; null when it
    /// did not end in time.</summary>
    internal static async Task<MediaItemView?> FinishCompletionAsync(IMediaItemGrain grain, TimeSpan wait)
    {
        try
        {
            return await grain.FinishCompletionAsync().WaitAsync(wait);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    // A grain's refusal as tus answers it: the catalogue's entry, bare where the tus spec names only a status. Metadata
    // rules and If-Match do not exist in tus (and 412 means an unsupported Tus-Resumable there): a plain bad request.
    private static Results<NoContent, StatusCodeHttpResult, ProblemHttpResult> FromGrain(MediaException exception) =>
        exception.Code is MediaErrorCode.InvalidInput or MediaErrorCode.PreconditionFailed
            ? Bad(exception.Message)
            : ApiErrors.For(exception.Code) is { BareForTus: true } bare
                ? TypedResults.StatusCode(bare.Status)
                : ApiErrors.For(exception.Code).Problem(exception.Message);

    private static ProblemHttpResult Bad(string detail) =>
        ApiErrors.BadTusRequest.Problem(detail);

    private static bool TryParseNonNegative(StringValues header, out long value)
    {
        value = 0;
        var text = header.ToString();
        return header.Count == 1 && text.Length is > 0 and <= 19 && text.All(char.IsAsciiDigit)
            && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    // Relative, or from Http:PublicBaseUrl: never from the request's Host, which the client chooses.
    private static string LocationOf(HttpRequest request, long id) =>
        request.HttpContext.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<HttpEdgeOptions>>().Value.UploadUrl(request, id);

    private static void WriteExpires(HttpContext context, DateTimeOffset? expiresAt)
    {
        if (expiresAt is { } expires)
        {
            context.Response.Headers["Upload-Expires"] = expires.ToString("R", CultureInfo.InvariantCulture);
        }
    }

    private static DateTimeOffset Now(HttpContext context) => context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();

    private static ILogger Logger(HttpContext context) =>
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TusEndpoints));

    [LoggerMessage(EventId = LogEvents.Tus + 1, Level = LogLevel.Information, Message = "tus upload {MediaId} created (length {Length})")]
    private static partial void LogCreated(ILogger logger, long mediaId, long? length);

    [LoggerMessage(EventId = LogEvents.Tus + 2, Level = LogLevel.Information, Message = "tus PATCH of {MediaId} cut off by the client ({Reason}); durable offset {Offset}")]
    private static partial void LogInterrupted(ILogger logger, long mediaId, long offset, string reason);
}
