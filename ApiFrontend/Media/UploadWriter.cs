using System.Buffers;
using System.Security.Cryptography;
using MediaService.DataPlane;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.Options;

namespace MediaService.ApiFrontend.Media;

/// <summary>How an append ended.</summary>
/// <param name="Offset">The durable offset after the append.</param>
/// <param name="Stored">The item, when this append completed it.</param>
/// <param name="Interrupted">Why the client's body ended early (what arrived was kept), or null when it did not.</param>
public sealed record AppendOutcome(long Offset, MediaItemView? Stored, string? Interrupted);

/// <summary>The body carried more bytes than the upload's length allows; nothing beyond the length was stored.</summary>
public sealed class BeyondLengthException(long length) : Exception($"The body goes past the upload's length of {length} bytes.")
{
    /// <summary>The upload's length.</summary>
    public long Length { get; } = length;
}

/// <summary>
/// Streams one request body into an item at its durable offset, under a grant from the item's grain. The body
/// is cut into parts of the configured size; each goes to S3 while the next is read from the client, and is
/// recorded by the grain once S3 has it. Bytes left at the end that are under S3's part minimum become a
/// tail object, which the next append prepends. So every offset the service reports is backed by bytes in
/// S3, and memory per append is two parts. A client that stops mid-body keeps what arrived.
/// </summary>
public sealed class UploadWriter(MediaObjectStore store, IOptions<S3Options> s3Options)
{
    private static readonly TimeSpan SalvageTime = TimeSpan.FromSeconds(30);
    private readonly int _partSize = checked((int)s3Options.Value.PartSizeBytes);

    /// <summary>
    /// Appends <paramref name="body"/>; with <paramref name="endOfBodyEndsContent"/>, the body's end is the content's
    /// end. With a <paramref name="checksum"/>, what the body adds is recorded as staged and counts only once the
    /// body's digest matched (otherwise <see cref="Tus.ChecksumMismatchException"/>, and the offset is unchanged).
    /// </summary>
    public async Task<AppendOutcome> AppendAsync(
        long id, IUploadGrain grain, AppendGrant grant, Stream body, bool endOfBodyEndsContent, CancellationToken cancellationToken,
        Tus.TusChecksum? checksum = null)
    {
        var staged = checksum is not null;
        var current = ArrayPool<byte>.Shared.Rent(_partSize);
        var spare = ArrayPool<byte>.Shared.Rent(_partSize);
        Task<int>? pending = null;
        try
        {
            var filled = 0;
            var consumesTail = false;
            if (grant.TailSize > 0)
            {
                filled = await store.ReadSmallAsync(grant.TailKey!, current, cancellationToken);
                if (filled != grant.TailSize)
                {
                    throw new InvalidDataException($"The tail of media item {id} holds {filled} bytes, not {grant.TailSize}.");
                }

                consumesTail = true;
            }

            // The content's SHA-256 is known only when this one body carries all of it.
            using var sha = grant.Offset == 0 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
            var bufferStart = grant.Offset - grant.TailSize;
            var partNumber = grant.PartNumber;
            MultipartTarget? target = null;
            string? interrupted = null;

            while (true)
            {
                var capacity = grant.Length is { } length ? (int)Math.Min(_partSize, length - bufferStart) : _partSize;
                var before = filled;
                var bodyEnded = false;
                try
                {
                    while (filled < capacity)
                    {
                        var read = await body.ReadAsync(current.AsMemory(filled, capacity - filled), cancellationToken);
                        if (read == 0)
                        {
                            bodyEnded = true;
                            break;
                        }

                        filled += read;
                    }
                }
                catch (Exception ex) when (IsClientGone(ex, cancellationToken))
                {
                    // Keep what arrived before the client went away: it is saved below without the request's token.
                    bodyEnded = true;
                    interrupted = $"{ex.GetType().Name}: {ex.Message}";
                }

                sha?.AppendData(current, before, filled - before);
                checksum?.Append(current, before, filled - before);
                var reachedLength = grant.Length is { } total && bufferStart + filled == total;
                if (reachedLength && !bodyEnded && interrupted is null && await HasMoreAsync(body, cancellationToken))
                {
                    throw new BeyondLengthException(grant.Length!.Value);
                }

                var token = interrupted is not null ? CancellationToken.None : cancellationToken;
                if (pending is not null)
                {
                    partNumber = await pending;
                    pending = null;
                }

                // A checksummed body cut off midway cannot be verified: it is discarded, as tus requires.
                if (staged && interrupted is not null)
                {
                    return new AppendOutcome(grant.Offset, null, interrupted);
                }

                var final = interrupted is null && (reachedLength || (bodyEnded && endOfBodyEndsContent));
                if (filled == _partSize && !final)
                {
                    target ??= await grain.OpenMultipartAsync(grant.Lease);
                    pending = SendPartAsync(grain, grant.Lease, target, partNumber, current, filled, consumesTail, final: false, staged, token);
                    (current, spare) = (spare, current);
                    bufferStart += filled;
                    filled = 0;
                    consumesTail = false;
                    continue;
                }

                using var salvage = interrupted is not null ? new CancellationTokenSource(SalvageTime) : null;
                token = salvage?.Token ?? token;
                var end = bufferStart + filled;
                if (final)
                {
                    return new AppendOutcome(end, await FinishAsync(grain, grant, target, partNumber, current, filled, consumesTail, end, sha, checksum, token), null);
                }

                var newBytes = consumesTail ? filled - grant.TailSize : filled;
                if (newBytes > 0)
                {
                    if (filled >= S3Options.MinPartSizeBytes)
                    {
                        target ??= await grain.OpenMultipartAsync(grant.Lease);
                        await SendPartAsync(grain, grant.Lease, target, partNumber, current, filled, consumesTail, final: false, staged, token);
                    }
                    else
                    {
                        var tailKey = $"media/{id}/tail/{grant.Lease}-{partNumber}";
                        await store.PutAsync(tailKey, new ArraySegment<byte>(current, 0, filled), "application/octet-stream", token);
                        var replaced = await grain.RecordTailAsync(new RecordTail(grant.Lease, tailKey, filled, staged));
                        if (replaced is not null)
                        {
                            await store.DeleteAsync(replaced, token);
                        }
                    }
                }

                if (checksum is not null)
                {
                    await CommitVerifiedAsync(grain, grant.Lease, checksum);
                }

                return new AppendOutcome(end, null, interrupted);
            }
        }
        finally
        {
            if (pending is not null)
            {
                // Never return a buffer S3 may still be reading from.
                await Task.WhenAny(pending);
            }

            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(spare);
        }
    }

    private async Task<MediaItemView> FinishAsync(
        IUploadGrain grain, AppendGrant grant, MultipartTarget? target, int partNumber,
        byte[] buffer, int filled, bool consumesTail, long total, IncrementalHash? sha, Tus.TusChecksum? checksum, CancellationToken cancellationToken)
    {
        var digest = sha is null ? null : Convert.ToHexStringLower(sha.GetCurrentHash());
        if (target is null && !grant.MultipartOpen)
        {
            if (checksum is not null && !checksum.Matches())
            {
                throw new Tus.ChecksumMismatchException();
            }

            // Everything is in this buffer (the tail included): one PutObject, no multipart upload to assemble.
            await store.PutAsync(grant.StorageKey, new ArraySegment<byte>(buffer, 0, filled), "application/octet-stream", cancellationToken);
            return await grain.ConfirmStoredAsync(new CompleteUpload(grant.Lease, total, digest, SinglePut: true));
        }

        target ??= await grain.OpenMultipartAsync(grant.Lease);
        if (filled > 0)
        {
            await SendPartAsync(grain, grant.Lease, target, partNumber, buffer, filled, consumesTail, final: true, checksum is not null, cancellationToken);
        }

        if (checksum is not null)
        {
            await CommitVerifiedAsync(grain, grant.Lease, checksum);
        }

        var plan = await grain.PrepareCompletionAsync(grant.Lease, total);
        await store.CompleteMultipartAsync(plan.StorageKey, plan.UploadId!, [.. plan.Parts.Select(p => new PartETag(p.PartNumber, p.ETag))], cancellationToken);
        return await grain.ConfirmStoredAsync(new CompleteUpload(grant.Lease, total, digest, SinglePut: false));
    }

    private async Task<int> SendPartAsync(
        IUploadGrain grain, long lease, MultipartTarget target, int partNumber, byte[] buffer, int count, bool consumesTail, bool final, bool staged,
        CancellationToken cancellationToken)
    {
        var etag = await store.UploadPartAsync(target.StorageKey, target.UploadId, partNumber, new ArraySegment<byte>(buffer, 0, count), cancellationToken);
        return await grain.RecordPartAsync(new RecordPart(lease, new UploadedPart(partNumber, count, etag), consumesTail, final, staged));
    }

    private static async Task CommitVerifiedAsync(IUploadGrain grain, long lease, Tus.TusChecksum checksum)
    {
        if (!checksum.Matches())
        {
            // What was staged is never committed; the next append drops it.
            throw new Tus.ChecksumMismatchException();
        }

        await grain.CommitAsync(lease);
    }

    private static async Task<bool> HasMoreAsync(Stream body, CancellationToken cancellationToken)
    {
        var probe = new byte[1];
        return await body.ReadAsync(probe, cancellationToken) > 0;
    }

    private static bool IsClientGone(Exception exception, CancellationToken cancellationToken) =>
        exception is IOException || (exception is OperationCanceledException && cancellationToken.IsCancellationRequested)
        || (exception is BadHttpRequestException bad && bad.StatusCode != StatusCodes.Status413PayloadTooLarge);
}
