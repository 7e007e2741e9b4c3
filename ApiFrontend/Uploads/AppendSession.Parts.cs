using System.Buffers;
using MediaService.Grains.Interfaces;

namespace MediaService.ApiFrontend.Uploads;

// The parts of one append: each goes to S3 under a part number the grain reserved (up to the parts in flight at once),
// and the grain records them in the order they were cut, once S3 has them.
internal sealed partial class AppendSession
{
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
        _target ??= await _grain.OpenMultipartAsync(_grant.Lease);
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
        if (_sending.Count > _writer.InFlight)
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
        var part = new StreamedPart(body, buffer, filled, size, _writer.WriteBytes, cancellationToken);
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
            LogResending(_writer.Logger, number, _id, "before the part arrived in full", ex.Message);
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

            LogResending(_writer.Logger, number, _id, "once the part had arrived in full", ex.Message);
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
        var digest = final && !_staged ? await _finalDigest.Task : null;
        _progress = await WaitForCompletionAsync(_grain.RecordPartAsync(new RecordPart(_grant.Lease, part, consumesTail, final, _staged, digest)), final);
    }

    // A report waits for the grain for as long as Uploads:CompletionWait (these calls may take long, so they are not
    // bounded by Orleans' response timeout): one that ends the content, for its assembly in S3, which goes on without
    // this request (the item becomes stored by itself); any other, so that a silo that died does not hold the request.
    private async Task<AppendProgress> WaitForCompletionAsync(Task<AppendProgress> report, bool completes)
    {
        try
        {
            return await report.WaitAsync(_writer.CompletionWait);
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
        if (_free.Count == 0 && _rented.Count > _writer.InFlight)
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
            _nextNumber = await _grain.ReservePartsAsync(_grant.Lease, _writer.InFlight);
            _lastNumber = _nextNumber + _writer.InFlight - 1;
        }

        return _nextNumber++;
    }

    private byte[] Rent()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(_partSize);
        _rented.Add(buffer);
        return buffer;
    }

    [LoggerMessage(EventId = LogEvents.Appends + 1, Level = LogLevel.Information,
        Message = "S3 failed part {PartNumber} of media item {MediaId} {When} ({Reason}); sending it again from the frontend's copy")]
    private static partial void LogResending(ILogger logger, int partNumber, long mediaId, string when, string reason);
}
