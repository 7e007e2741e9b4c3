using System.Net;

namespace MediaService.Cli.Tus;

/// <summary>A chunk of a file as a PATCH body: written in slices, so progress moves while it is sent, each slice paced
/// by the run's bandwidth limit.</summary>
public sealed class ChunkContent : HttpContent
{
    private const int Slice = 64 * 1024;
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly Action<long> _sent;
    private readonly Pacer? _pacer;
    private readonly CancellationToken _cancellationToken;

    /// <param name="bytes">The chunk.</param>
    /// <param name="sent">Called with the bytes of this chunk written so far.</param>
    /// <param name="pacer">The bandwidth limit, if any.</param>
    /// <param name="cancellationToken">Ctrl-C: stops the body midway (the service keeps what arrived).</param>
    public ChunkContent(ReadOnlyMemory<byte> bytes, Action<long> sent, Pacer? pacer, CancellationToken cancellationToken)
    {
        _bytes = bytes;
        _sent = sent;
        _pacer = pacer;
        _cancellationToken = cancellationToken;
        Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/offset+octet-stream");
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cancellationToken);
        for (var written = 0; written < _bytes.Length;)
        {
            var n = Math.Min(Slice, _bytes.Length - written);
            if (_pacer is not null)
            {
                await _pacer.WaitAsync(n, linked.Token);
            }

            await stream.WriteAsync(_bytes.Slice(written, n), linked.Token);
            written += n;
            _sent(written);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _bytes.Length;
        return true;
    }
}

/// <summary>A bandwidth limit shared by every upload of a run (<c>--limit-rate</c>): each slice takes its turn, and idle
/// time earns no burst.</summary>
public sealed class Pacer(long bytesPerSecond)
{
    private readonly Lock _lock = new();
    private double _next;

    /// <summary>The limit.</summary>
    public long BytesPerSecond => bytesPerSecond;

    /// <summary>Waits until sending <paramref name="count"/> more bytes keeps the run within its rate.</summary>
    public async Task WaitAsync(int count, CancellationToken cancellationToken)
    {
        double wait;
        lock (_lock)
        {
            var now = Environment.TickCount64;
            _next = Math.Max(_next, now) + (count * 1000.0 / bytesPerSecond);
            wait = _next - now;
        }

        if (wait >= 1)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken);
        }
    }
}
