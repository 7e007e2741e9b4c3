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

/// <summary>PATCH of an upload: appends the body at the client's offset (and the first chunk of a creation with upload).</summary>
internal static partial class TusAppend
{
    internal static async Task<Results<NoContent, StatusCodeHttpResult, ProblemHttpResult>> PatchAsync(
        long id, HttpContext context, IClusterClient cluster, UploadWriter writer, IOptions<UploadOptions> uploads, Limits.Quotas quotas,
        CancellationToken cancellationToken)
    {
        var request = context.Request;
        var fields = TusRequest.Parse(request);
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

        if (fields.Offset is not { } offset)
        {
            return Bad("Upload-Offset must be a non-negative integer.");
        }

        long? length = null;
        if (fields.HasLength)
        {
            if (fields.Length is not { } parsed)
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
        var appended = await AppendAsync(context, fields, id, grain, new BeginAppend(offset, length), writer, uploads.Value, quotas, cancellationToken, complete.Value);
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

    /// <summary>How an append answered: the new offset and expiry, or the status or problem to send instead.</summary>
    internal sealed record Appended(long Offset, DateTimeOffset? ExpiresAt, StatusCodeHttpResult? Status, ProblemHttpResult? Problem)
    {
        public static Appended Refused(ProblemHttpResult problem) => new(0, null, null, problem);
    }

    /// <summary>One append: the grant, the body into S3, and the tus answer for every way it can fail.</summary>
    internal static async Task<Appended> AppendAsync(
        HttpContext context, TusRequest fields, long id, IMediaItemGrain grain, BeginAppend begin, UploadWriter writer, UploadOptions options, Limits.Quotas quotas,
        CancellationToken cancellationToken, bool endsContent = false)
    {
        TusChecksum? checksum = null;
        var request = context.Request;
        if (fields.Checksum is { } checksumHeader)
        {
            if (!TusChecksum.TryParse(checksumHeader, out var algorithm, out var digest))
            {
                return Appended.Refused(Bad($"Upload-Checksum must be '<algorithm> <base64 digest>' with one of {TusChecksum.Algorithms}."));
            }

            checksum = TusChecksum.FromHeader(algorithm, digest);
        }
        else if (fields.ChecksumInTrailer)
        {
            checksum = TusChecksum.FromTrailer(() => request.CheckTrailersAvailable() ? request.GetTrailer(TusHeaders.UploadChecksum).ToString() : null);
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

    [LoggerMessage(EventId = LogEvents.Tus + 2, Level = LogLevel.Information, Message = "tus PATCH of {MediaId} cut off by the client ({Reason}); durable offset {Offset}")]
    private static partial void LogInterrupted(ILogger logger, long mediaId, long offset, string reason);
}
