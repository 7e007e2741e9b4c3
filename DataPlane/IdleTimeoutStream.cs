namespace MediaService.DataPlane;

/// <summary>
/// A read-only stream over a download from the store in which every read must return within <c>idle</c>: a store that
/// stops sending in the middle of a body fails the read (<see cref="TimeoutException"/>) instead of holding the reader.
/// </summary>
public sealed class IdleTimeoutStream(Stream inner, TimeSpan idle) : ForwardReadStream
{
    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        using var stalled = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stalled.CancelAfter(idle);
        try
        {
            return await inner.ReadAsync(buffer, stalled.Token);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The store sent nothing for {idle}.", ex);
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync() => inner.DisposeAsync();
}
