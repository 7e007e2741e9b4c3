using System.Globalization;
using MediaService.ApiFrontend.Http;
using MediaService.ApiFrontend.Media;
using MediaService.DataPlane;
using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using static MediaService.ApiFrontend.Tus.TusResponses;

namespace MediaService.ApiFrontend.Tus;

/// <summary>HEAD of an upload (and the draft's GET): where the upload stands, so a client knows where to resume.</summary>
internal static class TusOffset
{
    internal static async Task<Results<Ok, StatusCodeHttpResult, ProblemHttpResult>> HeadAsync(
        long id, HttpContext context, IClusterClient cluster, TusConcatenation concatenation, IOptions<UploadOptions> uploads,
        CancellationToken cancellationToken)
    {
        context.Response.Headers.CacheControl = "no-store";
        var protocol = ResumableProtocol.Of(context);
        var draft = protocol.IsDraft;
        var fields = TusRequest.Parse(context.Request);
        if (draft && (fields.HasOffset || fields.HasComplete || fields.HasLength))
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
            view = await TusEndpoints.FinishCompletionAsync(grain, uploads.Value.CompletionWait) ?? view;
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
        else if (protocol.HasDeferLength)
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
}
