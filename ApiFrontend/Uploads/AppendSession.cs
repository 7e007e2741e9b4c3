using System.Buffers;
using System.Security.Cryptography;
using MediaService.DataPlane;
using MediaService.Grains.Interfaces;

namespace MediaService.ApiFrontend.Uploads;

/// <summary>
/// The state of one append: its buffers, the parts on their way to S3, and its part numbers. This file reads the body
/// and decides what each buffer becomes (a part, the tail, a single put); <c>AppendSession.Parts.cs</c> sends the parts
/// and has the grain record them in order.
/// </summary>
internal sealed partial class AppendSession
{
    private static readonly TimeSpan SalvageTime = TimeSpan.FromSeconds(30);
    private readonly UploadWriter _writer;
    private readonly long _id;
    private readonly IMediaItemGrain _grain;
    private readonly AppendGrant _grant;
    private readonly bool _staged;
    private readonly DataPlane.Objects.IPartWriter _store;
    private readonly int _partSize;
    private readonly Stack<byte[]> _free = new();
    private readonly Queue<(Task Recorded, byte[] Buffer)> _sending = new();
    private Task _recorded = Task.CompletedTask;
    private readonly List<byte[]> _rented = [];
    private int _nextNumber;
    private int? _spareNumber;
    private int _lastNumber;
    private MultipartTarget? _target;

    // The content's digest, for the report of the final part (known once the body has been read to its end).
    private readonly TaskCompletionSource<string?> _finalDigest = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // What the grain last said the durable offset is, and the item once it is stored.
    private AppendProgress _progress;

    /// <summary>One append of item <paramref name="id"/> under <paramref name="grant"/>; <paramref name="staged"/> when its
    /// bytes count only once a checksum matched.</summary>
    public AppendSession(UploadWriter writer, long id, IMediaItemGrain grain, AppendGrant grant, bool staged)
    {
        _writer = writer;
        _id = id;
        _grain = grain;
        _grant = grant;
        _staged = staged;
        _store = writer.Store;
        _partSize = writer.PartSize;
        _nextNumber = grant.PartNumber;
        _lastNumber = grant.PartNumber == 0 ? -1 : grant.PartNumber + grant.PartCount - 1;
        _progress = new AppendProgress(grant.Offset, null);
    }

    public async Task<AppendOutcome> RunAsync(
        Stream body, long? bodyLength, bool endOfBodyEndsContent, IBodyChecksum? checksum, CancellationToken cancellationToken)
    {
        var current = Rent();
        var filled = 0;
        var consumesTail = false;
        if (_grant.TailSize > 0)
        {
            filled = await _store.ReadSmallAfterWriteAsync(_grant.TailKey!, current, _grant.TailSize, cancellationToken);

            if (filled != _grant.TailSize)
            {
                throw new InvalidDataException($"The tail of media item {_id} holds {filled} bytes, not {_grant.TailSize}.");
            }

            consumesTail = true;
        }

        // The content's SHA-256 is known only when this one body carries all of it.
        using var sha = _grant.Offset == 0 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        var bufferStart = _grant.Offset - _grant.TailSize;
        string? interrupted = null;

        // Parts are streamed only when the declared body fits in what the upload has left (so that no part is
        // sent before the body could be refused for going past the length).
        var remaining = _store.StreamsParts && bodyLength is { } declared && (_grant.Length is null || _grant.Offset + declared <= _grant.Length)
            ? declared
            : (long?)null;

        while (true)
        {
            var capacity = _grant.Length is { } length ? (int)Math.Min(_partSize, length - bufferStart) : _partSize;
            var before = filled;
            var bodyEnded = false;
            var streamed = false;
            var reachesLength = _grant.Length is { } whole && bufferStart + capacity == whole;
            if (remaining >= capacity - filled && capacity > filled && !(reachesLength && _target is null && !_grant.MultipartOpen))
            {
                (streamed, var inBuffer, var error) = await StreamPartAsync(body, current, filled, capacity, reachesLength, consumesTail, cancellationToken);
                remaining -= inBuffer - filled;
                filled = inBuffer;
                if (error is not null)
                {
                    if (!UploadWriter.IsClientGone(error, cancellationToken))
                    {
                        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
                    }

                    bodyEnded = true;
                    interrupted = $"{error.GetType().Name}: {error.Message}";
                }
            }

            try
            {
                while (filled < capacity && !streamed && interrupted is null)
                {
                    var read = await body.ReadAsync(current.AsMemory(filled, capacity - filled), cancellationToken);
                    if (read == 0)
                    {
                        bodyEnded = true;
                        break;
                    }

                    filled += read;
                    remaining -= read;
                }
            }
            catch (Exception ex) when (UploadWriter.IsClientGone(ex, cancellationToken))
            {
                // Keep what arrived before the client went away: it is saved below without the request's token.
                bodyEnded = true;
                interrupted = $"{ex.GetType().Name}: {ex.Message}";
            }

            sha?.AppendData(current, before, filled - before);
            checksum?.Append(current, before, filled - before);
            var reachedLength = _grant.Length is { } total && bufferStart + filled == total;
            if (reachedLength && !bodyEnded && interrupted is null && await HasMoreAsync(body, cancellationToken))
            {
                throw new BeyondLengthException(_grant.Length!.Value);
            }

            // A checksummed body cut off midway cannot be verified: it is discarded, as tus requires.
            if (_staged && interrupted is not null)
            {
                return new AppendOutcome(_grant.Offset, null, interrupted);
            }

            var final = interrupted is null && (reachedLength || (bodyEnded && endOfBodyEndsContent));
            if (final)
            {
                // The body was read to its end: the digest is known, and the final part's report (which may already be on
                // its way, streamed) carries it.
                _finalDigest.TrySetResult(sha is null ? null : Convert.ToHexStringLower(sha.GetCurrentHash()));
            }

            using var salvage = interrupted is not null ? new CancellationTokenSource(SalvageTime) : null;
            var token = salvage?.Token ?? cancellationToken;
            if (!final && (streamed || filled == _partSize))
            {
                if (!streamed)
                {
                    await SendAsync(current, filled, consumesTail);
                }

                current = await NextBufferAsync(token);
                bufferStart += filled;
                filled = 0;
                consumesTail = false;
                continue;
            }

            // The body is over: every part in flight is recorded before what remains.
            await DrainAsync(token);
            var end = bufferStart + filled;
            if (final)
            {
                // A streamed last part is on its way already: only recording it and the assembly remain.
                return new AppendOutcome(end, await FinishAsync(current, streamed ? 0 : filled, consumesTail, end, checksum, token), null);
            }

            var newBytes = consumesTail ? filled - _grant.TailSize : filled;
            if (newBytes > 0)
            {
                if (filled >= S3Options.MinPartSizeBytes)
                {
                    await SendAsync(current, filled, consumesTail);
                    await DrainAsync(token);
                }
                else
                {
                    // The tail goes under a key of this writer's own; the grain decides whether it becomes the item's
                    // tail (and deletes the one it replaces, or this one if it refuses it).
                    var tailKey = MediaKeys.Tail(_id, _grant.Lease);
                    await _store.PutAsync(tailKey, new ArraySegment<byte>(current, 0, filled), "application/octet-stream", token);
                    _progress = new AppendProgress(await _grain.RecordTailAsync(new RecordTail(_grant.Lease, tailKey, filled, _staged)), null);
                }
            }

            if (checksum is not null)
            {
                await CommitVerifiedAsync(checksum);
            }

            return new AppendOutcome(_progress.Offset, null, interrupted);
        }
    }

    /// <summary>Waits for every part still on its way to S3, so that no buffer is returned while S3 reads it.</summary>
    public async Task ReleaseAsync()
    {
        _finalDigest.TrySetResult(null);
        while (_sending.TryDequeue(out var sending))
        {
            await Task.WhenAny(sending.Recorded);
        }

        foreach (var buffer in _rented)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task<MediaItemView> FinishAsync(
        byte[] buffer, int filled, bool consumesTail, long total, IBodyChecksum? checksum, CancellationToken cancellationToken)
    {
        var digest = await _finalDigest.Task;
        if (_target is null && !_grant.MultipartOpen)
        {
            if (checksum is not null && !checksum.Matches())
            {
                throw new ChecksumMismatchException();
            }

            // Everything is in this buffer (the tail included): one object, under this writer's own key, which the grain
            // checks in S3 and only then makes the item's content.
            var etag = await _store.PutAsync(_grant.PutKey, new ArraySegment<byte>(buffer, 0, filled), "application/octet-stream", cancellationToken);
            return await _grain.RecordSinglePutAsync(new RecordSinglePut(_grant.Lease, _grant.PutKey, total, etag, digest));
        }

        if (filled > 0)
        {
            await SendAsync(buffer, filled, consumesTail, final: true);
        }

        // The grain assembles the object once it has recorded the final part (or once the checksum is committed).
        await DrainAsync(CancellationToken.None);
        if (checksum is not null)
        {
            await CommitVerifiedAsync(checksum, final: true);
        }

        return _progress.Stored ?? throw MediaException.Unavailable("The upload is complete in S3 but not stored yet. Retry later.", TimeSpan.FromSeconds(1));
    }

    private async Task CommitVerifiedAsync(IBodyChecksum checksum, bool final = false)
    {
        if (!checksum.Matches())
        {
            // What was staged is never committed; the next append drops it.
            throw new ChecksumMismatchException();
        }

        _progress = await WaitForCompletionAsync(_grain.CommitAsync(_grant.Lease), final);
    }

    private static async Task<bool> HasMoreAsync(Stream body, CancellationToken cancellationToken)
    {
        var probe = new byte[1];
        return await body.ReadAsync(probe, cancellationToken) > 0;
    }
}
