using MediaService.DataPlane;
using MediaService.DataPlane.Telemetry;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.Options;

namespace MediaService.ApiFrontend.Uploads;

/// <summary>
/// Streams one request body into an item at its durable offset, under a grant from the item's grain. The body
/// is cut into parts of the configured size; up to <see cref="S3Options.PartsInFlight"/> go to S3 at once while
/// the next is read from the client, each under a part number the grain reserved, and the grain records them in
/// order once S3 has them. Bytes left at the end that are under S3's part minimum become a tail object, which the
/// next append prepends. So every offset the service reports is backed by bytes in S3, and memory per append is
/// bounded by the parts in flight. A client that stops mid-body keeps what arrived.
/// When the body's length is known and the store can stream parts, a part whose bytes the body carries in full is
/// sent to S3 while it arrives, and kept in its buffer as well: if S3 fails, the buffer is sent again; if the
/// client goes away, what arrived is saved from the buffer as with any body cut off.
/// This is the entry point the endpoints call; one append's work is an <see cref="AppendSession"/>.
/// </summary>
public sealed class UploadWriter(
    DataPlane.Objects.IPartWriter store, IOptions<S3Options> s3Options, IOptions<UploadOptions> uploadOptions, MediaMetrics metrics, ILogger<UploadWriter> logger)
{
    /// <summary>The store the parts and tails go to.</summary>
    internal DataPlane.Objects.IPartWriter Store { get; } = store;

    /// <summary>The size of a part (<see cref="S3Options.PartSizeBytes"/>).</summary>
    internal int PartSize { get; } = checked((int)s3Options.Value.PartSizeBytes);

    /// <summary>How many parts go to S3 at once (<see cref="S3Options.PartsInFlight"/>).</summary>
    internal int InFlight { get; } = s3Options.Value.PartsInFlight;

    /// <summary>How many bytes a streamed part writes to its request at a time (<see cref="S3Options.WriteBufferBytes"/>).</summary>
    internal int WriteBytes { get; } = s3Options.Value.WriteBufferBytes;

    /// <summary>How long a report waits for the grain (<see cref="UploadOptions.CompletionWait"/>).</summary>
    internal TimeSpan CompletionWait { get; } = uploadOptions.Value.CompletionWait;

    // What a client is told to wait when S3 lost the parts of an upload (S3:BreakerBreakDuration).
    private readonly TimeSpan _storeRetryAfter = s3Options.Value.BreakerBreakDuration;

    /// <summary>Where the sessions log.</summary>
    internal ILogger Logger { get; } = logger;

    /// <summary>
    /// How many part numbers to ask for with the grant of an append whose body declares <paramref name="bodyLength"/>
    /// bytes: one per whole part it carries, up to the parts sent at once. A small or undeclared body asks for none (it may
    /// only grow the tail, which spends no part number); a part it does need is reserved when it comes.
    /// </summary>
    public int PartsToReserve(long? bodyLength) =>
        bodyLength is { } length && length >= S3Options.MinPartSizeBytes ? (int)Math.Min(InFlight, (length + PartSize - 1) / PartSize) : 0;

    /// <summary>
    /// Appends <paramref name="body"/>; with <paramref name="endOfBodyEndsContent"/>, the body's end is the content's
    /// end. With a <paramref name="checksum"/>, what the body adds is recorded as staged and counts only once the
    /// body's digest matched (otherwise <see cref="ChecksumMismatchException"/>, and the offset is unchanged).
    /// <paramref name="bodyLength"/> is the body's length when it is declared (Content-Length); parts are streamed
    /// only then.
    /// </summary>
    public async Task<AppendOutcome> AppendAsync(
        long id, IMediaItemGrain grain, AppendGrant grant, Stream body, long? bodyLength, bool endOfBodyEndsContent,
        CancellationToken cancellationToken, IBodyChecksum? checksum = null)
    {
        using var active = metrics.AppendStarted();
        var append = new AppendSession(this, id, grain, grant, checksum is not null);
        try
        {
            var outcome = await append.RunAsync(body, bodyLength, endOfBodyEndsContent, checksum, cancellationToken);
            metrics.BytesReceived(outcome.Offset - grant.Offset);
            return outcome;
        }
        catch (Amazon.S3.AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchUpload")
        {
            // S3 no longer knows the item's multipart upload. The grain's record says why: another request finished the
            // upload while this one's part was on its way (this writer lost it: 409), or the store lost an upload that
            // is still receiving (unavailable: nothing this request sent is recorded, and the offset stays true).
            var view = await grain.GetMetadataAsync();
            if (view is null || view.Status != MediaStatus.Receiving)
            {
                throw new MediaException(MediaErrorCode.StaleWriter, "Another request finished this upload while this one was sending.");
            }

            metrics.UploadFailed("storage");
            throw new ObjectStoreUnavailableException("The object store does not know this upload's parts.", _storeRetryAfter, ex);
        }
        catch (Exception ex) when (FailureReason(ex, cancellationToken) is { } reason)
        {
            metrics.UploadFailed(reason);
            throw;
        }
        finally
        {
            await append.ReleaseAsync();
        }
    }

    /// <summary>Whether <paramref name="exception"/> means the client went away (or its body was refused), not that we failed.</summary>
    internal static bool IsClientGone(Exception exception, CancellationToken cancellationToken) =>
        exception is IOException || (exception is OperationCanceledException && cancellationToken.IsCancellationRequested)
        || (exception is BadHttpRequestException bad && bad.StatusCode != StatusCodes.Status413PayloadTooLarge);

    // Why an append failed on our side, or null when the client's request or its going away ended it.
    private static string? FailureReason(Exception exception, CancellationToken cancellationToken) => exception switch
    {
        BeyondLengthException or ChecksumMismatchException or InvalidDataException or Limits.QuotaExceededException => null,
        MediaException { Code: MediaErrorCode.Unavailable } => "storage",
        MediaException => null,
        OperationCanceledException when cancellationToken.IsCancellationRequested => null,
        _ when IsClientGone(exception, cancellationToken) => null,
        Orleans.Runtime.OrleansException or TimeoutException => "cluster",
        _ when Resilience.IsUnavailable(exception) => "storage",
        _ => "error",
    };
}
