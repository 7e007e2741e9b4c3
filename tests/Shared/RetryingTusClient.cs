using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace MediaService.Tests;

/// <summary>The client failed for good: its retries ran out (or the server refused the request outright).</summary>
public sealed class UploadFailedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Uploads as tus-js-client (and Uppy) do with <c>retryDelays: [0, 1000, 3000, 5000]</c>: on a network error, a 5xx,
/// 409 or 423, wait the next delay, ask the offset with HEAD and go on from there; the delays start over once an
/// upload makes progress. Any other 4xx fails the upload at once, as it does in tus-js-client. Used by the scale
/// tests, the fault suite and <c>bench/scale-bench.sh</c>.
/// </summary>
/// <param name="http">The client, with its base address and key.</param>
/// <param name="chunkSize">Bytes per PATCH (the file's length: the whole file in one PATCH).</param>
/// <param name="delays">The retry delays (tus-js-client's <c>retryDelays</c>); the default is tus-js-client's.</param>
/// <param name="content">Makes the body of a PATCH of <c>count</c> bytes from <c>offset</c> (the last argument: whether it
/// carries the file's last byte), for a caller that watches the bytes go out; plain bytes by default.</param>
/// <param name="createHeaders">Headers of the creation request beyond <c>Upload-Length</c> (for example <c>Upload-Concat: partial</c>).</param>
public sealed class RetryingTusClient(
    HttpClient http, int chunkSize, TimeSpan[]? delays = null, Func<byte[], int, int, bool, HttpContent>? content = null,
    IReadOnlyDictionary<string, string>? createHeaders = null)
{
    private static readonly TimeSpan[] DefaultDelays = [TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(5)];
    private readonly TimeSpan[] _delays = delays ?? DefaultDelays;

    private int _retries;

    /// <summary>Retries this client made (each one a failed request that the server's state let it resume from).</summary>
    public int Retries => Volatile.Read(ref _retries);

    /// <summary>The upload's URL once it was created (also when the upload then failed).</summary>
    public string? Url { get; private set; }

    /// <summary>Uploads <paramref name="body"/> to <c>/files/</c> and returns its upload URL (a path).</summary>
    public async Task<string> UploadAsync(byte[] body, CancellationToken cancellationToken = default)
    {
        string? url = null;
        long offset = 0;
        var attempt = 0;
        var resume = false;
        while (true)
        {
            try
            {
                if (url is null)
                {
                    using var create = Request(HttpMethod.Post, "/files/");
                    create.Headers.Add("Upload-Length", body.Length.ToString(CultureInfo.InvariantCulture));
                    foreach (var (name, value) in createHeaders ?? new Dictionary<string, string>())
                    {
                        create.Headers.Add(name, value);
                    }

                    using var created = await http.SendAsync(create, cancellationToken);
                    Check(created, HttpStatusCode.Created, "POST");
                    url = Url = created.Headers.Location!.OriginalString;
                }
                else if (resume)
                {
                    using var head = await http.SendAsync(Request(HttpMethod.Head, url), cancellationToken);
                    Check(head, HttpStatusCode.OK, "HEAD");
                    offset = Offset(head);
                }

                resume = false;
                while (offset < body.Length)
                {
                    using var patch = Request(HttpMethod.Patch, url);
                    patch.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
                    var count = (int)Math.Min(chunkSize, body.Length - offset);
                    patch.Content = content?.Invoke(body, (int)offset, count, offset + count == body.Length) ?? new ByteArrayContent(body, (int)offset, count);
                    patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
                    using var patched = await http.SendAsync(patch, cancellationToken);
                    Check(patched, HttpStatusCode.NoContent, "PATCH");
                    offset = Offset(patched);
                    attempt = 0;
                }

                return url;
            }
            catch (Exception ex) when (Retryable(ex) && !cancellationToken.IsCancellationRequested)
            {
                if (attempt == _delays.Length)
                {
                    throw new UploadFailedException($"Upload {url ?? "(not created)"} failed after {_delays.Length} retries at offset {offset}: {ex.Message}", ex);
                }

                Interlocked.Increment(ref _retries);
                await Task.Delay(_delays[attempt++], cancellationToken);
                resume = true;
            }
        }
    }

    private static HttpRequestMessage Request(HttpMethod method, string url)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Add("Tus-Resumable", "1.0.0");
        return request;
    }

    private static long Offset(HttpResponseMessage response) =>
        long.Parse(response.Headers.GetValues("Upload-Offset").Single(), CultureInfo.InvariantCulture);

    private static void Check(HttpResponseMessage response, HttpStatusCode expected, string what)
    {
        if (response.StatusCode == expected)
        {
            return;
        }

        var status = (int)response.StatusCode;
        var detail = $"{what} answered {status} {response.ReasonPhrase}";
        if (status >= 500 || response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.Locked)
        {
            throw new RetryableStatusException(detail);
        }

        throw new UploadFailedException(detail);
    }

    private static bool Retryable(Exception exception) =>
        exception is RetryableStatusException or HttpRequestException or TaskCanceledException or IOException;

    private sealed class RetryableStatusException(string message) : Exception(message);
}
