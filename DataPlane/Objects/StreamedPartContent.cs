namespace MediaService.DataPlane.Objects;

/// <summary>
/// A part body written by its producer while the request is sent. Each write to the connection, and the wait for
/// the answer after the last one, must finish within the stall time; waiting for the producer does not count.
/// </summary>
internal sealed class StreamedPartContent(long length, Func<Stream, CancellationToken, Task> write, CancellationTokenSource stalled, TimeSpan stallTime)
    : HttpContent
{
    protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken)
    {
        await write(new WatchedStream(stream, stalled, stallTime), cancellationToken);
        stalled.CancelAfter(stallTime);
    }

    protected override bool TryComputeLength(out long computed)
    {
        computed = length;
        return true;
    }
}

// Arms the stall timer around each write and disarms it after.
internal sealed class WatchedStream(Stream inner, CancellationTokenSource stalled, TimeSpan stallTime) : Stream
{
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        stalled.CancelAfter(stallTime);
        await inner.WriteAsync(buffer, cancellationToken);
        stalled.CancelAfter(Timeout.InfiniteTimeSpan);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
