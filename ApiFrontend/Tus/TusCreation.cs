using System.Globalization;
using MediaService.ApiFrontend.Http;
using MediaService.ApiFrontend.Media;
using MediaService.ApiFrontend.Uploads;
using MediaService.DataPlane;
using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using static MediaService.ApiFrontend.Tus.TusResponses;

namespace MediaService.ApiFrontend.Tus;

/// <summary>POST on <c>/files/</c>: creates an upload (tus creation, creation-with-upload, deferred length; the draft's
/// creation), or a final upload from partial ones (concatenation).</summary>
internal static partial class TusCreation
{
    internal static async Task<Results<Created, StatusCodeHttpResult, ProblemHttpResult>> CreateAsync(
        HttpContext context, MediaIngest ingest, UploadWriter writer, TusConcatenation concatenation,
        IOptions<UploadOptions> uploads, IOptions<TusOptions> tus, Limits.Quotas quotas, CancellationToken cancellationToken)
    {
        var request = context.Request;
        var fields = TusRequest.Parse(request);
        var max = uploads.Value.MaxUploadBytes;
        if (fields.Concat is not { } concat)
        {
            return Bad("Upload-Concat must be 'partial' or 'final;' followed by the URLs of partial uploads of this server.");
        }

        var partials = fields.Partials;
        var metadataHeader = fields.Metadata;
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
            if (fields.HasLength || fields.HasDeferLength)
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
        if (protocol.HasDeferLength && (fields.HasLength == fields.HasDeferLength || (fields.HasDeferLength && !fields.DefersLength)))
        {
            return Bad("Send either Upload-Length or Upload-Defer-Length: 1.");
        }

        long? length = null;
        if (fields.HasLength)
        {
            if (fields.Length is not { } parsed)
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
            var appended = await TusAppend.AppendAsync(context, fields, id, grain, new BeginAppend(0, null), writer, uploads.Value, quotas, cancellationToken, complete == true);
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

    [LoggerMessage(EventId = LogEvents.Tus + 1, Level = LogLevel.Information, Message = "tus upload {MediaId} created (length {Length})")]
    private static partial void LogCreated(ILogger logger, long mediaId, long? length);
}
