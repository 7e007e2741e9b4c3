using System.Globalization;
using MediaService.ApiFrontend.Http;
using MediaService.ApiFrontend.Media;
using MediaService.DataPlane;
using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace MediaService.ApiFrontend.Uploads;

/// <summary><c>POST /media/upload</c>: a whole file as one streamed request body, the way most HTTP clients send one.</summary>
public static partial class UploadEndpoints
{
    /// <summary>Maps <c>POST /media/upload</c> (in the Media tag, beside the rest of <c>/media</c>).</summary>
    public static IEndpointRouteBuilder MapUploads(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/media").WithTags("Media");

        group.MapPost("/upload", UploadAsync)
            .WithName("UploadMedia")
            .WithSummary("Uploads a media file as the request body (streamed to storage).")
            .WithDescription("The body is the file. Its name comes from Content-Disposition (filename*/filename) or the filename query parameter; "
                + "its type from Content-Type, or from the name's extension when Content-Type is application/octet-stream.")
            .Accepts<Stream>("application/octet-stream", "*/*")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    internal static async Task<Results<Created<MediaItemResponse>, ProblemHttpResult>> UploadAsync(
        HttpContext context,
        [FromQuery(Name = "filename")] string? fileNameQuery,
        MediaIngest ingest,
        IOptions<UploadOptions> options,
        Limits.Quotas quotas,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var limits = options.Value;
        var request = context.Request;
        if (request.ContentLength > limits.MaxUploadBytes)
        {
            return TooLarge(limits.MaxUploadBytes);
        }

        BodyLimits.Apply(context, limits.MaxUploadBytes, limits);

        var fileName = FileNames.Sanitize(
            FileNames.FromContentDisposition(request.Headers.ContentDisposition) ?? fileNameQuery, limits.MaxFileNameLength);
        if (!TryDeclaredContentType(request.ContentType, fileName, out var contentType))
        {
            return ApiErrors.UnsupportedRequestBody.Problem("Send the file itself as the body (for example Content-Type: application/octet-stream), not a multipart form.");
        }

        if (await quotas.CheckNewUploadAsync(Access.OwnerPropagation.Owner(context.User), request.ContentLength, cancellationToken) is { } overQuota)
        {
            return overQuota;
        }

        // A body without a length is capped at the owner's storage room while it is written.
        var room = request.ContentLength is null ? await quotas.RoomAsync(Access.OwnerPropagation.Owner(context.User), cancellationToken) : long.MaxValue;
        try
        {
            var body = Limits.ThrottledBody.For(context, request.Body);
            var view = await ingest.UploadNewAsync(new CreateMediaItem(fileName, contentType, request.ContentLength),
                room < limits.MaxUploadBytes ? new Limits.QuotaCappedBody(body, room) : body, cancellationToken);
            return TypedResults.Created($"/media/{view.Id}", MediaItemResponse.From(view));
        }
        catch (IngestFailedException failure)
        {
            var mediaId = new Dictionary<string, object?> { ["mediaId"] = failure.MediaId };
            switch (failure.InnerException)
            {
                case ObjectStoreUnavailableException unavailable:
                    context.Response.Headers.RetryAfter = Math.Ceiling(unavailable.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                    return ApiErrors.StorageUnavailable.Problem("The object store did not answer; the item was not stored. Retry later.", mediaId);
                case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                    return TooLarge(limits.MaxUploadBytes);
                case MediaException refused:
                    return Problems.From(refused, context);
                case Limits.QuotaExceededException exceeded:
                    return quotas.Exceeded(exceeded.Room, oneShot: true);
                case BeyondLengthException:
                    return ApiErrors.BodyLongerThanDeclared.Problem("The body is longer than its Content-Length; the item was not stored.", mediaId);
                case IOException or BadHttpRequestException or OperationCanceledException:
                    LogInterrupted(loggers.CreateLogger(typeof(UploadEndpoints)), failure.MediaId, failure.InnerException.Message);
                    return ApiErrors.UploadInterrupted.Problem("The request body ended early; the item was not stored.", mediaId);
                default:
                    throw;
            }
        }
    }

    private static bool TryDeclaredContentType(string? header, string? fileName, out string contentType)
    {
        // A multipart form would store its MIME framing as the file: refuse it. A raw body labelled as a URL-encoded
        // form is what curl --data-binary sends by default; its bytes are the file, so it is taken as untyped.
        contentType = MediaTypes.Declared(header, fileName);
        return !(header?.TrimStart().StartsWith("multipart/", StringComparison.OrdinalIgnoreCase) ?? false);
    }

    private static ProblemHttpResult TooLarge(long max) =>
        ApiErrors.UploadTooLarge.Problem($"The largest accepted upload is {max} bytes.", new Dictionary<string, object?> { ["maxBytes"] = max });

    [LoggerMessage(EventId = LogEvents.MediaApi + 1, Level = LogLevel.Information, Message = "Upload of media item {MediaId} interrupted by the client: {Reason}")]
    private static partial void LogInterrupted(ILogger logger, long mediaId, string reason);
}
