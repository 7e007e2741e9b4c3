namespace MediaService.DataPlane;

/// <summary>
/// A read-only view of bytes [offset, offset + length) of an underlying forward-only stream. Used when a
/// store answers a ranged GET with the whole object (servers may ignore Range; s3rver does for <c>bytes=0-0</c>):
/// the caller still gets exactly the bytes it asked for.
/// </summary>
public sealed class SliceReadStream(Stream inner, long offset, long length) : Stream
{
    private long _toSkip = offset;
    private readonly long _length = length;
    private long _remaining = length;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _length;
    public override long Position { get => _length - _remaining; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_toSkip > 0)
        {
            var skip = new byte[(int)Math.Min(_toSkip, 81920)];
            var skipped = await inner.ReadAsync(skip, cancellationToken);
            if (skipped == 0)
            {
                throw new EndOfStreamException("The object ended before the requested range.");
            }

            _toSkip -= skipped;
        }

        if (_remaining == 0 || buffer.Length == 0)
        {
            return 0;
        }

        var read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken);
        if (read == 0)
        {
            throw new EndOfStreamException("The object ended before the requested range.");
        }

        _remaining -= read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
