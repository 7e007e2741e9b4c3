using MediaService.DataPlane;

namespace MediaService.ApiFrontend.Uploads;

/// <summary>
/// The producer of one streamed part: reads the body into the part's buffer and writes what arrived to the part's
/// request, <paramref name="writeBytes"/> (<see cref="S3Options.WriteBufferBytes"/>) at a time. Runs at most once; afterwards (or if it never
/// started) the body is the append's again.
/// </summary>
internal sealed class StreamedPart(Stream body, byte[] buffer, int filled, int size, int writeBytes, CancellationToken cancellationToken)
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
