namespace MediaService.DataPlane;

/// <summary>
/// A read-only view of bytes [offset, offset + length) of an underlying forward-only stream. Used when a
/// store answers a ranged GET with the whole object (servers may ignore Range; s3rver does for <c>bytes=0-0</c>):
/// the caller still gets exactly the bytes it asked for.
/// </summary>
public sealed class SliceReadStream(Stream inner, long offset, long length) : ForwardReadStream
{
    private long _toSkip = offset;
    private readonly long _length = length;
    private long _remaining = length;

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

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
