using MediaService.ApiFrontend.Uploads;
using MediaService.DataPlane;
using MediaService.Grains.Interfaces;

namespace MediaService.ApiFrontend.Media;

/// <summary>
/// Creates media items under fresh ids, and fills one from a single request body (<c>POST /media/upload</c>):
/// one append whose body's end is the content's end, written by <see cref="UploadWriter"/>.
/// </summary>
public sealed partial class MediaIngest(
    IClusterClient cluster,
    MediaIdIssuer ids,
    UploadWriter writer,
    Microsoft.Extensions.Options.IOptions<UploadOptions> options,
    ILogger<MediaIngest> logger)
{
    private const int MaxIdAttempts = 8;

    /// <summary>Creates an item under a fresh random id; ids already holding an item are skipped, never reused.</summary>
    public async Task<(long Id, IMediaItemGrain Grain, DateTimeOffset? ExpiresAt)> CreateItemAsync(CreateMediaItem request)
    {
        var refused = new HashSet<string>(StringComparer.Ordinal);
        for (var attempt = 0; attempt < MaxIdAttempts; attempt++)
        {
            var id = await ids.NewIdAsync(refused);
            var grain = cluster.GetGrain<IMediaItemGrain>(id);
            CreateMediaItemResult created;
            try
            {
                created = await grain.CreateAsync(request);
            }
            catch (Exception ex) when (Http.ClusterExceptionHandler.StorageRetryAfter(ex) is not null && attempt < 2 && ids.DatabaseOf(id) is { } database
                && refused.Add(database))
            {
                // That item's database did not take it (down, or its shard is being moved, before this frontend could
                // know): a new id on another database. An item written despite the error is never used and expires.
                LogPlacedElsewhere(logger, id, database, ex.Message);
                continue;
            }

            if (created.Created)
            {
                return (id, grain, created.ExpiresAt);
            }
        }

        // 8 collisions in a space of 2^53 means the generator is broken, not that we were unlucky.
        throw new InvalidOperationException("Could not find an unused media id.");
    }

    [LoggerMessage(EventId = LogEvents.Ingest + 20, Level = LogLevel.Information, Message = "Item {MediaId} not created on storage database {Database} ({Error}); placing it elsewhere")]
    private static partial void LogPlacedElsewhere(ILogger logger, long mediaId, string database, string error);

    /// <summary>Creates an item with a fresh id and fills it with <paramref name="body"/>.</summary>
    /// <exception cref="IngestFailedException">The item was created but not stored (it is failed); the inner
    /// exception says why: <see cref="ObjectStoreUnavailableException"/>, <see cref="MediaException"/>,
    /// <see cref="BeyondLengthException"/>, or the client's body ending early or exceeding the limit.</exception>
    public async Task<MediaItemView> UploadNewAsync(CreateMediaItem request, Stream body, CancellationToken cancellationToken)
    {
        // Nobody can resume a one-shot upload whose request died with its frontend: it expires after a while without
        // progress, and its bytes are released.
        var (id, grain, _) = await CreateItemAsync(request with { Expires = options.Value.OneShotIdleExpiry, SlidingExpiry = true });
        long? lease = null;
        try
        {
            var grant = await grain.BeginAppendAsync(new BeginAppend(0, null, Parts: writer.PartsToReserve(request.DeclaredLength)));
            lease = grant.Lease;
            var outcome = await writer.AppendAsync(id, grain, grant, body, request.DeclaredLength, endOfBodyEndsContent: true, cancellationToken);
            return outcome.Stored ?? throw new IOException("The client stopped sending before the end of the body.");
        }
        catch (Exception ex)
        {
            LogUploadFailed(logger, id, ex.GetType().Name, ex.Message);
            if (lease is { } held)
            {
                // Not on the request's path: the client hears at once that nothing was stored (with S3 hung, the grain's
                // clean-up would hold the answer), and the grain ends the item by itself either way (its idle expiry).
                _ = AbandonQuietlyAsync(id, grain, held, ex);
            }

            throw new IngestFailedException(id, ex);
        }
    }

    private async Task AbandonQuietlyAsync(long id, IMediaItemGrain grain, long lease, Exception cause)
    {
        try
        {
            var reason = cause switch
            {
                ObjectStoreUnavailableException => "The object store was unavailable.",
                MediaException media => media.Message,
                BeyondLengthException beyond => beyond.Message,
                BadHttpRequestException => "The request body was rejected.",
                OperationCanceledException or IOException => "The client stopped sending.",
                _ => "The upload could not be completed.",
            };
            await grain.AbandonAsync(lease, reason);
        }
        catch (Exception ex)
        {
            // The item stays receiving (never stored): nothing claims bytes that are not there.
            LogAbandonFailed(logger, id, ex.Message);
        }
    }

    [LoggerMessage(EventId = LogEvents.Ingest + 1, Level = LogLevel.Warning, Message = "Upload of media item {MediaId} failed: {ExceptionType}: {Reason}")]
    private static partial void LogUploadFailed(ILogger logger, long mediaId, string exceptionType, string reason);

    [LoggerMessage(EventId = LogEvents.Ingest + 2, Level = LogLevel.Warning, Message = "Could not mark media item {MediaId} failed: {Reason}")]
    private static partial void LogAbandonFailed(ILogger logger, long mediaId, string reason);
}

/// <summary>An item was created but its bytes could not be stored; the item is (or will read as) not stored.</summary>
public sealed class IngestFailedException(long mediaId, Exception cause)
    : Exception($"Media item {mediaId} was not stored: {cause.Message}", cause)
{
    /// <summary>The id of the item that was created and then failed.</summary>
    public long MediaId { get; } = mediaId;
}
