namespace MediaService.TestRules;

/// <summary>
/// A request body that serves its bytes up to <c>gateAt</c>, then holds until <see cref="Open"/> (or the read is
/// cancelled); not seekable, so that a body without a declared length goes out chunked.
/// </summary>
public sealed class GatedStream(byte[] body, int gateAt) : Stream
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _position;

    /// <summary>Completes once every byte before the gate was read.</summary>
    public Task Reached => _reached.Task;

    /// <summary>Lets the rest of the body through.</summary>
    public void Open() => _open.TrySetResult();

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position >= gateAt)
        {
            _reached.TrySetResult();
            await _open.Task.WaitAsync(cancellationToken);
        }

        var end = _position < gateAt ? gateAt : body.Length;
        var count = Math.Min(buffer.Length, end - _position);
        body.AsMemory(_position, count).CopyTo(buffer);
        _position += count;
        return count;
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
}
