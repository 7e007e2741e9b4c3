using System.Buffers;
using System.Security.Cryptography;
using MediaService.ApiFrontend.Tus;
using MediaService.DataPlane;
using MediaService.DataPlane.Telemetry;
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
/// is cut into parts of the configured size; up to <see cref="S3Options.PartsInFlight"/> go to S3 at once while
/// the next is read from the client, each under a part number the grain reserved, and the grain records them in
/// order once S3 has them. Bytes left at the end that are under S3's part minimum become a tail object, which the
/// next append prepends. So every offset the service reports is backed by bytes in S3, and memory per append is
/// bounded by the parts in flight. A client that stops mid-body keeps what arrived.
/// When the body's length is known and the store can stream parts, a part whose bytes the body carries in full is
/// sent to S3 while it arrives, and kept in its buffer as well: if S3 fails, the buffer is sent again; if the
/// client goes away, what arrived is saved from the buffer as with any body cut off.
/// </summary>
public sealed partial class UploadWriter(
    DataPlane.Objects.IPartWriter store, IOptions<S3Options> s3Options, IOptions<UploadOptions> uploadOptions, MediaMetrics metrics, ILogger<UploadWriter> logger)
{
    private static readonly TimeSpan SalvageTime = TimeSpan.FromSeconds(30);
    private readonly DataPlane.Objects.IPartWriter _store = store;
    private readonly int _partSize = checked((int)s3Options.Value.PartSizeBytes);
    private readonly int _inFlight = s3Options.Value.PartsInFlight;
    private readonly int _writeBytes = s3Options.Value.WriteBufferBytes;
    private readonly TimeSpan _completionWait = uploadOptions.Value.CompletionWait;
    private readonly TimeSpan _storeRetryAfter = s3Options.Value.BreakerBreakDuration;
    private readonly ILogger<UploadWriter> _logger = logger;

    /// <summary>
    /// How many part numbers to ask for with the grant of an append whose body declares <paramref name="bodyLength"/>
    /// bytes: one per whole part it carries, up to the parts sent at once. A small or undeclared body asks for none (it may
    /// only grow the tail, which spends no part number); a part it does need is reserved when it comes.
    /// </summary>
    public int PartsToReserve(long? bodyLength) =>
        bodyLength is { } length && length >= S3Options.MinPartSizeBytes ? (int)Math.Min(_inFlight, (length + _partSize - 1) / _partSize) : 0;

    /// <summary>
    /// Appends <paramref name="body"/>; with <paramref name="endOfBodyEndsContent"/>, the body's end is the content's
    /// end. With a <paramref name="checksum"/>, what the body adds is recorded as staged and counts only once the
    /// body's digest matched (otherwise <see cref="ChecksumMismatchException"/>, and the offset is unchanged).
    /// <paramref name="bodyLength"/> is the body's length when it is declared (Content-Length); parts are streamed
    /// only then.
    /// </summary>
    public async Task<AppendOutcome> AppendAsync(
        long id, IMediaItemGrain grain, AppendGrant grant, Stream body, long? bodyLength, bool endOfBodyEndsContent,
        CancellationToken cancellationToken, TusChecksum? checksum = null)
    {
        using var active = metrics.AppendStarted();
        var append = new Append(this, id, grain, grant, checksum is not null);
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

    /// <summary>The state of one append: its buffers, the parts on their way to S3, and its part numbers.</summary>
    private sealed class Append(UploadWriter writer, long id, IMediaItemGrain grain, AppendGrant grant, bool staged)
    {
        private readonly DataPlane.Objects.IPartWriter _store = writer._store;
        private readonly int _partSize = writer._partSize;
        private readonly Stack<byte[]> _free = new();
        private readonly Queue<(Task Recorded, byte[] Buffer)> _sending = new();
        private Task _recorded = Task.CompletedTask;
        private readonly List<byte[]> _rented = [];
        private int _nextNumber = grant.PartNumber;
        private int? _spareNumber;
        private int _lastNumber = grant.PartNumber == 0 ? -1 : grant.PartNumber + grant.PartCount - 1;
        private MultipartTarget? _target;

        // The content's digest, for the report of the final part (known once the body has been read to its end).
        private readonly TaskCompletionSource<string?> _finalDigest = new(TaskCreationOptions.RunContinuationsAsynchronously);

        // What the grain last said the durable offset is, and the item once it is stored.
        private AppendProgress _progress = new(grant.Offset, null);

        public async Task<AppendOutcome> RunAsync(
            Stream body, long? bodyLength, bool endOfBodyEndsContent, TusChecksum? checksum, CancellationToken cancellationToken)
        {
            var current = Rent();
            var filled = 0;
            var consumesTail = false;
            if (grant.TailSize > 0)
            {
                filled = await _store.ReadSmallAfterWriteAsync(grant.TailKey!, current, grant.TailSize, cancellationToken);

                if (filled != grant.TailSize)
                {
                    throw new InvalidDataException($"The tail of media item {id} holds {filled} bytes, not {grant.TailSize}.");
                }

                consumesTail = true;
            }

            // The content's SHA-256 is known only when this one body carries all of it.
            using var sha = grant.Offset == 0 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
            var bufferStart = grant.Offset - grant.TailSize;
            string? interrupted = null;

            // Parts are streamed only when the declared body fits in what the upload has left (so that no part is
            // sent before the body could be refused for going past the length).
            var remaining = _store.StreamsParts && bodyLength is { } declared && (grant.Length is null || grant.Offset + declared <= grant.Length)
                ? declared
                : (long?)null;

            while (true)
            {
                var capacity = grant.Length is { } length ? (int)Math.Min(_partSize, length - bufferStart) : _partSize;
                var before = filled;
                var bodyEnded = false;
                var streamed = false;
                var reachesLength = grant.Length is { } whole && bufferStart + capacity == whole;
                if (remaining >= capacity - filled && capacity > filled && !(reachesLength && _target is null && !grant.MultipartOpen))
                {
                    (streamed, var inBuffer, var error) = await StreamPartAsync(body, current, filled, capacity, reachesLength, consumesTail, cancellationToken);
                    remaining -= inBuffer - filled;
                    filled = inBuffer;
                    if (error is not null)
                    {
                        if (!IsClientGone(error, cancellationToken))
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

                // A checksummed body cut off midway cannot be verified: it is discarded, as tus requires.
                if (staged && interrupted is not null)
                {
                    return new AppendOutcome(grant.Offset, null, interrupted);
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

                var newBytes = consumesTail ? filled - grant.TailSize : filled;
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
                        var tailKey = MediaKeys.Tail(id, grant.Lease);
                        await _store.PutAsync(tailKey, new ArraySegment<byte>(current, 0, filled), "application/octet-stream", token);
                        _progress = new AppendProgress(await grain.RecordTailAsync(new RecordTail(grant.Lease, tailKey, filled, staged)), null);
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
            byte[] buffer, int filled, bool consumesTail, long total, TusChecksum? checksum, CancellationToken cancellationToken)
        {
            var digest = await _finalDigest.Task;
            if (_target is null && !grant.MultipartOpen)
            {
                if (checksum is not null && !checksum.Matches())
                {
                    throw new ChecksumMismatchException();
                }

                // Everything is in this buffer (the tail included): one object, under this writer's own key, which the grain
                // checks in S3 and only then makes the item's content.
                var etag = await _store.PutAsync(grant.PutKey, new ArraySegment<byte>(buffer, 0, filled), "application/octet-stream", cancellationToken);
                return await grain.RecordSinglePutAsync(new RecordSinglePut(grant.Lease, grant.PutKey, total, etag, digest));
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

        // Starts a part on its way to S3, to be recorded by the grain as soon as S3 has it and every earlier part is
        // recorded; once the most parts are in flight, waits for the oldest.
        private async Task SendAsync(byte[] buffer, int count, bool consumesTail, bool final = false)
        {
            var (target, number) = await NextPartAsync();

            // A part read in full is worth keeping even if the client goes away meanwhile: its upload is bounded by
            // the S3 pipeline's timeouts, not by the request.
            await EnqueueAsync(UploadAsync(target, number, buffer, count, CancellationToken.None), buffer, consumesTail, final);
        }

        // The multipart upload (opened by the grain on the first part) and the next part's number: the one a streamed
        // part S3 failed left unused, or else a reserved one.
        private async Task<(MultipartTarget Target, int Number)> NextPartAsync()
        {
            _target ??= await grain.OpenMultipartAsync(grant.Lease);
            var number = _spareNumber ?? await TakeNumberAsync();
            _spareNumber = null;
            return (_target, number);
        }

        // The part will be recorded once S3 has it and every earlier part is recorded; once the most parts are in
        // flight, waits for the oldest.
        private async Task EnqueueAsync(Task<UploadedPart> upload, byte[] buffer, bool consumesTail, bool final)
        {
            _recorded = RecordInOrderAsync(_recorded, upload, consumesTail, final);
            _sending.Enqueue((_recorded, buffer));
            if (_sending.Count > writer._inFlight)
            {
                await RecordOldestAsync();
            }
        }

        /// <summary>
        /// Sends the part in <paramref name="buffer"/> (<paramref name="filled"/> bytes there already) to S3 while the
        /// rest of its <paramref name="size"/> bytes are read from the body into the buffer. Returns whether the part
        /// arrived in full and is on its way (then enqueued like any part), the bytes now in the buffer, and the body's
        /// failure if that is why it stopped (null: S3 failed first, and the caller reads the rest and sends the
        /// buffer). Either way the part's request no longer reads the body.
        /// </summary>
        private async Task<(bool Sent, int Filled, Exception? BodyFailure)> StreamPartAsync(
            Stream body, byte[] buffer, int filled, int size, bool final, bool consumesTail, CancellationToken cancellationToken)
        {
            var (target, number) = await NextPartAsync();
            var part = new StreamedPart(body, buffer, filled, size, writer._writeBytes, cancellationToken);
            var upload = UploadStreamedAsync(target, number, part, buffer, size);
            await Task.WhenAny(part.AllRead, upload);
            if (part.AllRead.IsCompleted)
            {
                await EnqueueAsync(upload, buffer, consumesTail, final);
                return (true, size, null);
            }

            // The upload ended short of the part: it stopped reading the body before it failed.
            try
            {
                await upload;
            }
            catch (Exception ex) when (part.BodyFailure is null)
            {
                // S3 failed: the caller reads the rest and sends the buffer under the same number, with retries.
                LogResending(writer._logger, number, id, "before the part arrived in full", ex.Message);
                _spareNumber = number;
            }
            catch (Exception)
            {
                // The body failed: that failure goes to the caller, which keeps what arrived.
            }

            return (false, part.Filled, part.BodyFailure);
        }

        // A streamed part's upload; if S3 fails once the part is in the buffer in full, the buffer is sent again.
        private async Task<UploadedPart> UploadStreamedAsync(MultipartTarget target, int number, StreamedPart part, byte[] buffer, int size)
        {
            try
            {
                var etag = await _store.UploadPartStreamingAsync(target.StorageKey, target.UploadId, number, size, part.WriteAsync, CancellationToken.None);
                return new UploadedPart(number, size, etag);
            }
            catch (Exception ex)
            {
                await part.StoppedAsync();
                if (part.Filled < size)
                {
                    throw;
                }

                LogResending(writer._logger, number, id, "once the part had arrived in full", ex.Message);
            }

            return await UploadAsync(target, number, buffer, size, CancellationToken.None);
        }

        private async Task<UploadedPart> UploadAsync(MultipartTarget target, int number, byte[] buffer, int count, CancellationToken cancellationToken)
        {
            var etag = await _store.UploadPartAsync(target.StorageKey, target.UploadId, number, new ArraySegment<byte>(buffer, 0, count), cancellationToken);
            return new UploadedPart(number, count, etag);
        }

        private async Task RecordInOrderAsync(Task previous, Task<UploadedPart> upload, bool consumesTail, bool final)
        {
            try
            {
                await previous;
            }
            catch
            {
                // This part's buffer is released once this task ends: never before its upload has ended too.
                await Task.WhenAny(upload);
                throw;
            }

            var part = await upload;
            var digest = final && !staged ? await _finalDigest.Task : null;
            _progress = await WaitForCompletionAsync(grain.RecordPartAsync(new RecordPart(grant.Lease, part, consumesTail, final, staged, digest)), final);
        }

        // A report waits for the grain for as long as Uploads:CompletionWait (these calls may take long, so they are not
        // bounded by Orleans' response timeout): one that ends the content, for its assembly in S3, which goes on without
        // this request (the item becomes stored by itself); any other, so that a silo that died does not hold the request.
        private async Task<AppendProgress> WaitForCompletionAsync(Task<AppendProgress> report, bool completes)
        {
            try
            {
                return await report.WaitAsync(writer._completionWait);
            }
            catch (TimeoutException)
            {
                throw MediaException.Unavailable(completes
                    ? "Every byte is stored; the upload is still being assembled. Ask again shortly."
                    : "The upload's grain did not answer in time; the upload keeps its last reported offset. Retry.", TimeSpan.FromSeconds(2));
            }
        }

        private async Task RecordOldestAsync()
        {
            var (recorded, buffer) = _sending.Dequeue();
            await recorded;
            _free.Push(buffer);
        }

        private async Task DrainAsync(CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            while (_sending.Count > 0)
            {
                await RecordOldestAsync();
            }
        }

        private async Task<byte[]> NextBufferAsync(CancellationToken cancellationToken)
        {
            if (_free.Count == 0 && _rented.Count > writer._inFlight)
            {
                await RecordOldestAsync();
            }

            cancellationToken.ThrowIfCancellationRequested();
            return _free.Count > 0 ? _free.Pop() : Rent();
        }

        private async Task<int> TakeNumberAsync()
        {
            if (_nextNumber == 0 || _nextNumber > _lastNumber)
            {
                _nextNumber = await grain.ReservePartsAsync(grant.Lease, writer._inFlight);
                _lastNumber = _nextNumber + writer._inFlight - 1;
            }

            return _nextNumber++;
        }

        private byte[] Rent()
        {
            var buffer = ArrayPool<byte>.Shared.Rent(_partSize);
            _rented.Add(buffer);
            return buffer;
        }

        private async Task CommitVerifiedAsync(TusChecksum checksum, bool final = false)
        {
            if (!checksum.Matches())
            {
                // What was staged is never committed; the next append drops it.
                throw new ChecksumMismatchException();
            }

            _progress = await WaitForCompletionAsync(grain.CommitAsync(grant.Lease), final);
        }
    }

    /// <summary>
    /// The producer of one streamed part: reads the body into the part's buffer and writes what arrived to the part's
    /// request, <see cref="UploadWriter._writeBytes"/> at a time. Runs at most once; afterwards (or if it never
    /// started) the body is the append's again.
    /// </summary>
    private sealed class StreamedPart(Stream body, byte[] buffer, int filled, int size, int writeBytes, CancellationToken cancellationToken)
    {
        private const int NotStarted = 0, Running = 1, Ended = 2, Prevented = 3;
        private readonly TaskCompletionSource _allRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _state;

        /// <summary>Bytes of the part in the buffer.</summary>
        public int Filled { get; private set; } = filled;

        /// <summary>Why reading the body failed, if it did.</summary>
        public Exception? BodyFailure { get; private set; }

        /// <summary>Completes once every byte of the part is in the buffer.</summary>
        public Task AllRead => _allRead.Task;

        public async Task WriteAsync(Stream request, CancellationToken requestToken)
        {
            if (Interlocked.CompareExchange(ref _state, Running, NotStarted) != NotStarted)
            {
                throw new InvalidOperationException("A streamed part can be sent only once.");
            }

            try
            {
                var sent = 0;
                while (sent < size)
                {
                    if (Filled < size && Filled - sent < writeBytes)
                    {
                        await ReadAsync();
                        continue;
                    }

                    await request.WriteAsync(buffer.AsMemory(sent, Filled - sent), requestToken);
                    sent = Filled;
                }
            }
            finally
            {
                Volatile.Write(ref _state, Ended);
                _ended.TrySetResult();
            }
        }

        /// <summary>Returns once the part's request no longer reads the body, or makes sure it never will.</summary>
        public Task StoppedAsync() =>
            Interlocked.CompareExchange(ref _state, Prevented, NotStarted) == NotStarted ? Task.CompletedTask : _ended.Task;

        private async Task ReadAsync()
        {
            int read;
            try
            {
                read = await body.ReadAsync(buffer.AsMemory(Filled, size - Filled), cancellationToken);
            }
            catch (Exception ex)
            {
                BodyFailure = ex;
                throw new PartSourceException(ex);
            }

            if (read == 0)
            {
                BodyFailure = new EndOfStreamException($"The body ended {size - Filled} bytes before the end of its declared length.");
                throw new PartSourceException(BodyFailure);
            }

            Filled += read;
            if (Filled == size)
            {
                _allRead.TrySetResult();
            }
        }
    }

    [LoggerMessage(EventId = LogEvents.Appends + 1, Level = LogLevel.Information,
        Message = "S3 failed part {PartNumber} of media item {MediaId} {When} ({Reason}); sending it again from the frontend's copy")]
    private static partial void LogResending(ILogger logger, int partNumber, long mediaId, string when, string reason);

    private static async Task<bool> HasMoreAsync(Stream body, CancellationToken cancellationToken)
    {
        var probe = new byte[1];
        return await body.ReadAsync(probe, cancellationToken) > 0;
    }

    private static bool IsClientGone(Exception exception, CancellationToken cancellationToken) =>
        exception is IOException || (exception is OperationCanceledException && cancellationToken.IsCancellationRequested)
        || (exception is BadHttpRequestException bad && bad.StatusCode != StatusCodes.Status413PayloadTooLarge);
}
