using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MediaService.DataPlane.Webhooks;
using MediaService.Grains.Domain;
using Microsoft.Extensions.Options;

namespace MediaService.Grains.Webhooks;

/// <summary>One attempt to send: where, what, and the secrets that sign it.</summary>
public sealed record WebhookAttempt(Uri Url, string EventId, string Body, IReadOnlyList<string> Secrets, TimeSpan Timeout);

/// <summary>The attempt's answer and how long it took.</summary>
public sealed record SentAttempt(DateTimeOffset StartedAt, int LatencyMs, AttemptAnswer Answer);

/// <summary>Thrown by the connect step when a target resolves only to addresses webhooks may not reach.</summary>
public sealed class WebhookTargetRefusedException(string message) : IOException(message);

/// <summary>
/// Sends webhook attempts, one silo-wide HTTP client for every subscription (an attempt is asynchronous I/O; each
/// subscription's own concurrency and timeout bound what one receiver can hold). Signs each attempt as Standard Webhooks
/// specifies, with the attempt's own timestamp. The client resolves and connects itself, so that the address checked is
/// the address connected to: a name that resolves to an internal address at delivery (DNS rebinding) is refused,
/// unless <see cref="WebhookOptions.AllowPrivateTargets"/>. No redirects, no proxy, no cookies; HTTP/1.1 and 2 only
/// (HTTP/3 would bypass the connect step).
/// </summary>
public sealed class WebhookSender : IDisposable
{
    private readonly HttpClient _http;
    private readonly TimeProvider _time;

    public WebhookSender(IOptions<WebhookOptions> options, TimeProvider time)
    {
        _time = time;
        var allowPrivate = options.Value.AllowPrivateTargets;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            // Every new connection is checked again; an open one is reused for at most this long.
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            MaxConnectionsPerServer = 64,
            ConnectCallback = (context, ct) => ConnectAsync(context.DnsEndPoint, allowPrivate, ct),
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("media-service-webhooks/1");
    }

    /// <summary>Sends one attempt. Never throws for the receiver's failures: they are the answer.</summary>
    public async Task<SentAttempt> SendAsync(WebhookAttempt attempt, CancellationToken cancellationToken)
    {
        var started = _time.GetUtcNow();
        var clock = Stopwatch.StartNew();
        var body = Encoding.UTF8.GetBytes(attempt.Body);
        var timestamp = started.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, attempt.Url)
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("webhook-id", attempt.EventId);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature", WebhookSignature.Sign(attempt.Secrets, attempt.EventId, timestamp, body));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(attempt.Timeout);
        AttemptAnswer answer;
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            answer = new AttemptAnswer((int)response.StatusCode, null, RetryAfter(response));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            answer = new AttemptAnswer(null, $"No answer within {attempt.Timeout.TotalSeconds:0.#} s.");
        }
        catch (HttpRequestException ex)
        {
            answer = new AttemptAnswer(null, Describe(ex));
        }

        return new SentAttempt(started, (int)Math.Min(int.MaxValue, clock.ElapsedMilliseconds), answer);
    }

    public void Dispose() => _http.Dispose();

    private static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow,
            _ => null,
        };

    private static string Describe(HttpRequestException ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is WebhookTargetRefusedException refused)
            {
                return refused.Message;
            }
        }

        return ex.InnerException is SocketException socket ? $"Could not connect: {socket.SocketErrorCode}." : $"Failed: {ex.Message}";
    }

    private static async ValueTask<Stream> ConnectAsync(DnsEndPoint endpoint, bool allowPrivate, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(endpoint.Host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(endpoint.Host, cancellationToken);
        var allowed = allowPrivate ? addresses : [.. addresses.Where(a => WebhookTargets.Refusal(a) is null)];
        if (allowed.Length == 0)
        {
            throw new WebhookTargetRefusedException(addresses.Length == 0
                ? $"{endpoint.Host} does not resolve."
                : $"{endpoint.Host} resolves to {addresses[0]}, {WebhookTargets.Refusal(addresses[0])}: webhooks may not reach internal addresses.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, endpoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
