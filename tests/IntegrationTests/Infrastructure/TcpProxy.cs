using System.Net;
using System.Net.Sockets;

namespace MediaService.IntegrationTests.Infrastructure;

/// <summary>
/// A TCP relay in front of the real S3 server, so a test can make S3 unreachable (<see cref="Cut"/>:
/// open connections are reset and new ones closed at once) and reachable again (<see cref="Restore"/>).
/// The server behind it stays the real one.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Uri _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _open = [];
    private readonly Task _acceptLoop;
    private readonly TaskCompletionSource _reset = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _cut;
    private long? _resetAfter;

    public TcpProxy(Uri target)
    {
        _target = target;
        _listener.Start();
        _acceptLoop = AcceptAsync();
    }

    public Uri Address => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    public void Cut()
    {
        _cut = true;
        lock (_open)
        {
            foreach (var client in _open)
            {
                client.Client.LingerState = new LingerOption(true, 0);
                client.Dispose();
            }

            _open.Clear();
        }
    }

    public void Restore() => _cut = false;

    /// <summary>Resets the connection that carries the <paramref name="bytes"/>th byte sent to S3 from now on, once.</summary>
    public void ResetOnceAfter(long bytes)
    {
        lock (_open)
        {
            _resetAfter = bytes;
        }
    }

    /// <summary>Completes when a connection was reset by <see cref="ResetOnceAfter"/>.</summary>
    public Task Reset => _reset.Task;

    public async ValueTask DisposeAsync()
    {
        Cut();
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
            if (_cut)
            {
                inbound.Client.LingerState = new LingerOption(true, 0);
                inbound.Dispose();
                continue;
            }

            _ = RelayAsync(inbound);
        }
    }

    private async Task RelayAsync(TcpClient inbound)
    {
        var outbound = new TcpClient();
        lock (_open)
        {
            _open.Add(inbound);
            _open.Add(outbound);
        }

        try
        {
            await outbound.ConnectAsync(_target.Host, _target.Port, _stop.Token);
            var a = inbound.GetStream();
            var b = outbound.GetStream();
            await Task.WhenAny(UpstreamAsync(a, b, inbound, outbound), PumpAsync(b, a));
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            lock (_open)
            {
                _open.Remove(inbound);
                _open.Remove(outbound);
            }

            inbound.Dispose();
            outbound.Dispose();
        }
    }

    // Client to S3, counting bytes for ResetOnceAfter.
    private async Task UpstreamAsync(Stream from, Stream to, TcpClient inbound, TcpClient outbound)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                var trip = false;
                lock (_open)
                {
                    if (_resetAfter is { } left)
                    {
                        _resetAfter = left - read > 0 ? left - read : null;
                        trip = _resetAfter is null;
                    }
                }

                if (trip)
                {
                    foreach (var client in new[] { inbound, outbound })
                    {
                        client.Client.LingerState = new LingerOption(true, 0);
                        client.Dispose();
                    }

                    _reset.TrySetResult();
                    return;
                }

                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private async Task PumpAsync(Stream from, Stream to)
    {
        try
        {
            await from.CopyToAsync(to, _stop.Token);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }
}
