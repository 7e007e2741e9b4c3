using System.Buffers;
using System.Security.Cryptography;
using MediaService.DataPlane;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.Options;

namespace MediaService.ApiFrontend.Media;

/// <summary>
/// Streams a request body into S3 as a new media item. Memory per upload is two parts: one being read
/// from the client while the previous one goes to S3. Each part is recorded by the item's grain once S3
/// has it; the item becomes stored only after S3 assembled the object and the grain saw its size there.
/// </summary>
public sealed partial class MediaIngest(
    IClusterClient cluster,
    MediaObjectStore store,
    IOptions<S3Options> s3Options,
    ILogger<MediaIngest> logger)
{
    private const int MaxIdAttempts = 8;
    private readonly int _partSize = checked((int)s3Options.Value.PartSizeBytes);

    /// <summary>Creates an item with a fresh id and fills it with <paramref name="body"/>.</summary>
    /// <exception cref="IngestFailedException">The item was created but not stored (it is failed); the inner
    /// exception says why: <see cref="ObjectStoreUnavailableException"/>, <see cref="MediaException"/>, or the
    /// client's body ending early or exceeding the limit.</exception>
    public async Task<MediaItemView> UploadNewAsync(CreateMediaItem request, Stream body, CancellationToken cancellationToken)
    {
        var (id, grain, created) = await CreateItemAsync(request);
        try
        {
            return await ReceiveAsync(grain, created, body, request.DeclaredContentType, cancellationToken);
        }
        catch (Exception ex)
        {
            LogUploadFailed(logger, id, ex.GetType().Name, ex.Message);
            await AbandonQuietlyAsync(id, grain, created.Lease, ex);
            throw new IngestFailedException(id, ex);
        }
    }

    private async Task<(long Id, IUploadGrain Grain, CreateMediaItemResult Created)> CreateItemAsync(CreateMediaItem request)
    {
        for (var attempt = 0; attempt < MaxIdAttempts; attempt++)
        {
            var id = MediaIds.NewId();
            var grain = cluster.GetGrain<IUploadGrain>(id);
            var created = await grain.CreateAsync(request);
            if (created.Created)
            {
                return (id, grain, created);
            }
        }

        // 8 collisions in a space of 2^53 means the generator is broken, not that we were unlucky.
        throw new InvalidOperationException("Could not find an unused media id.");
    }

    private async Task<MediaItemView> ReceiveAsync(IUploadGrain grain, CreateMediaItemResult created, Stream body, string contentType, CancellationToken cancellationToken)
    {
        var key = created.StorageKey!;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var current = ArrayPool<byte>.Shared.Rent(_partSize);
        var spare = ArrayPool<byte>.Shared.Rent(_partSize);
        try
        {
            var length = await FillAsync(body, current, _partSize, cancellationToken);
            sha.AppendData(current, 0, length);
            if (length < _partSize)
            {
                // The whole body fits in one part: one PutObject, no multipart upload to assemble.
                await store.PutAsync(key, new ArraySegment<byte>(current, 0, length), contentType, cancellationToken);
                return await grain.ConfirmStoredAsync(new CompleteUpload(created.Lease, length, Hex(sha), SinglePut: true));
            }

            var target = await grain.OpenMultipartAsync(created.Lease);
            long total = 0;
            var partNumber = 1;
            while (true)
            {
                var inFlight = SendPartAsync(grain, created.Lease, target, partNumber, new ArraySegment<byte>(current, 0, length), cancellationToken);
                int next;
                try
                {
                    // Read and hash the next part while the previous one travels to S3.
                    next = await FillAsync(body, spare, _partSize, cancellationToken);
                    sha.AppendData(spare, 0, next);
                }
                finally
                {
                    // Never return a buffer S3 may still be reading from.
                    await Task.WhenAny(inFlight);
                }

                await inFlight;
                total += length;
                if (next == 0)
                {
                    break;
                }

                (current, spare) = (spare, current);
                length = next;
                partNumber++;
            }

            var plan = await grain.PrepareCompletionAsync(created.Lease, total);
            await store.CompleteMultipartAsync(
                plan.StorageKey,
                plan.UploadId!,
                [.. plan.Parts.Select(p => new PartETag(p.PartNumber, p.ETag))],
                cancellationToken);
            return await grain.ConfirmStoredAsync(new CompleteUpload(created.Lease, total, Hex(sha), SinglePut: false));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(spare);
        }
    }

    private async Task SendPartAsync(IUploadGrain grain, long lease, MultipartTarget target, int partNumber, ArraySegment<byte> bytes, CancellationToken cancellationToken)
    {
        var etag = await store.UploadPartAsync(target.StorageKey, target.UploadId, partNumber, bytes, cancellationToken);
        await grain.RecordPartAsync(lease, new UploadedPart(partNumber, bytes.Count, etag));
    }

    /// <summary>Reads until <paramref name="count"/> bytes are in the buffer or the body ends.</summary>
    internal static async Task<int> FillAsync(Stream body, byte[] buffer, int count, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < count)
        {
            var read = await body.ReadAsync(buffer.AsMemory(filled, count - filled), cancellationToken);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled;
    }

    private async Task AbandonQuietlyAsync(long id, IUploadGrain grain, long lease, Exception cause)
    {
        try
        {
            var reason = cause switch
            {
                ObjectStoreUnavailableException => "The object store was unavailable.",
                MediaException media => media.Message,
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

    private static string Hex(IncrementalHash hash) => Convert.ToHexStringLower(hash.GetCurrentHash());

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Upload of media item {MediaId} failed: {ExceptionType}: {Reason}")]
    private static partial void LogUploadFailed(ILogger logger, long mediaId, string exceptionType, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Could not mark media item {MediaId} failed: {Reason}")]
    private static partial void LogAbandonFailed(ILogger logger, long mediaId, string reason);
}

/// <summary>An item was created but its bytes could not be stored; the item is (or will read as) not stored.</summary>
public sealed class IngestFailedException(long mediaId, Exception cause)
    : Exception($"Media item {mediaId} was not stored: {cause.Message}", cause)
{
    /// <summary>The id of the item that was created and then failed.</summary>
    public long MediaId { get; } = mediaId;
}
