using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using MediaService.Tests;

namespace MediaService.IntegrationTests.Faults;

/// <summary>The ways clients upload in the fault suite.</summary>
public enum UploadKind
{
    /// <summary>tus, the whole file in one PATCH (tus-js-client's default).</summary>
    TusWhole,

    /// <summary>tus in chunks of 2 MiB (tus-js-client with <c>chunkSize</c>, Uppy).</summary>
    TusChunks,

    /// <summary>tus-js-client's <c>parallelUploads: 2</c>: two partial uploads and a final one concatenating them.</summary>
    TusConcat,

    /// <summary>The IETF resumable upload draft (interop version 6): creation, one append with <c>Upload-Complete: ?1</c>,
    /// offset retrieval by HEAD on any failure.</summary>
    IetfDraft,

    /// <summary><c>POST /media/upload</c> with the whole file; any failure repeats the whole upload.</summary>
    OneShot,
}

/// <summary>What one client was told about one upload.</summary>
/// <param name="Kind">How it uploaded.</param>
/// <param name="Body">The bytes it uploaded.</param>
/// <param name="ToldComplete">The client was told its bytes are stored (a 2xx ending the content, a HEAD offset equal to the
/// length, <c>Upload-Complete: ?1</c>).</param>
/// <param name="Id">The item the client was told about (null when it never learned one).</param>
/// <param name="Created">Every item id the client created or learned on the way (a failed one-shot's included).</param>
/// <param name="Retries">Requests it repeated.</param>
/// <param name="Error">Why it gave up, if it did.</param>
/// <param name="Elapsed">From its first request to its last answer.</param>
public sealed record UploadResult(UploadKind Kind, byte[] Body, bool ToldComplete, long? Id, IReadOnlyList<long> Created, int Retries, string? Error, TimeSpan Elapsed);

/// <summary>
/// Clients that retry as tus-js-client does (network errors, 5xx, 409 and 423; the offset asked with HEAD before
/// going on), with a longer <c>retryDelays</c> than its default so that they outlast the injected faults. Each reports
/// when the request carrying the content's last byte is half sent and fully sent, so that faults can be injected
/// right there.
/// </summary>
public sealed class FaultClients(HttpClient http)
{
    /// <summary>tus-js-client's <c>retryDelays</c> as a patient application sets them.</summary>
    public static readonly TimeSpan[] Delays =
        [.. new[] { 0, 1, 2, 3, 5, 5, 5, 8, 8, 10, 10, 10 }.Select(s => TimeSpan.FromSeconds(s))];

    private static readonly HttpStatusCode[] Retryable = [HttpStatusCode.Conflict, HttpStatusCode.Locked];

    /// <summary>Uploads <paramref name="body"/> the <paramref name="kind"/> way; <paramref name="onLastRequest"/> hears
    /// 0.5 and 1.0 as the request carrying the last byte goes out.</summary>
    public async Task<UploadResult> UploadAsync(UploadKind kind, byte[] body, Action<double> onLastRequest)
    {
        var clock = Stopwatch.StartNew();
        var created = new List<long>();
        var retries = 0;
        try
        {
            long? id = kind switch
            {
                UploadKind.TusWhole => await TusAsync(body, body.Length, onLastRequest, created, r => retries += r),
                UploadKind.TusChunks => await TusAsync(body, 2 * 1024 * 1024, onLastRequest, created, r => retries += r),
                UploadKind.TusConcat => await ConcatAsync(body, onLastRequest, created, r => retries += r),
                UploadKind.IetfDraft => await DraftAsync(body, onLastRequest, created, () => retries++),
                _ => await OneShotAsync(body, onLastRequest, created, () => retries++),
            };
            return new UploadResult(kind, body, true, id, created, retries, null, clock.Elapsed);
        }
        catch (UploadFailedException ex)
        {
            return new UploadResult(kind, body, false, created.Count > 0 ? created[^1] : null, created, retries, ex.Message, clock.Elapsed);
        }
    }

    private async Task<long> TusAsync(byte[] body, int chunk, Action<double> onLast, List<long> created, Action<int> retried,
        IReadOnlyDictionary<string, string>? createHeaders = null)
    {
        var client = new RetryingTusClient(http, chunk, Delays, (bytes, offset, count, last) => new WatchedContent(bytes, offset, count, last ? onLast : null), createHeaders);
        try
        {
            var url = await client.UploadAsync(body);
            return IdOf(url);
        }
        finally
        {
            if (client.Url is { } url)
            {
                created.Add(IdOf(url));
            }

            retried(client.Retries);
        }
    }

    // Two partial uploads side by side, then the final one: told complete once a HEAD of the final shows its offset
    // (a final upload has none until it is assembled and stored).
    private async Task<long> ConcatAsync(byte[] body, Action<double> onLast, List<long> created, Action<int> retried)
    {
        var half = body.Length / 2;
        var partial = new Dictionary<string, string> { ["Upload-Concat"] = "partial" };
        var ids = await Task.WhenAll(
            TusAsync(body[..half], half, _ => { }, created, retried, partial),
            TusAsync(body[half..], body.Length - half, onLast, created, retried, partial));
        string? final = null;
        return await RetryAsync(async () =>
        {
            if (final is null)
            {
                using var create = Tus(HttpMethod.Post, "/files/");
                create.Headers.Add("Upload-Concat", $"final;/files/{ids[0]} /files/{ids[1]}");
                using var response = await http.SendAsync(create);
                Check(response, HttpStatusCode.Created);
                final = response.Headers.Location!.OriginalString;
                created.Add(IdOf(final));
            }

            using var head = await http.SendAsync(Tus(HttpMethod.Head, final));
            Check(head, HttpStatusCode.OK);
            if (Header(head, "Upload-Offset") is { } offset && long.Parse(offset, CultureInfo.InvariantCulture) == body.Length)
            {
                return IdOf(final);
            }

            throw new RetryException("The final upload is not assembled yet.");
        }, () => retried(1));
    }

    private async Task<long> DraftAsync(byte[] body, Action<double> onLast, List<long> created, Action retried)
    {
        string? url = null;
        long offset = 0;
        var resume = false;
        return await RetryAsync(async () =>
        {
            if (url is null)
            {
                using var create = Draft(HttpMethod.Post, "/files/");
                create.Headers.Add("Upload-Complete", "?0");
                create.Headers.Add("Upload-Length", body.Length.ToString(CultureInfo.InvariantCulture));
                using var response = await http.SendAsync(create);
                Check(response, HttpStatusCode.Created);
                url = response.Headers.Location!.OriginalString;
                created.Add(IdOf(url));
            }
            else if (resume)
            {
                using var head = await http.SendAsync(Draft(HttpMethod.Head, url));
                Check(head, HttpStatusCode.OK);
                if (Header(head, "Upload-Complete") == "?1")
                {
                    return IdOf(url);
                }

                offset = long.Parse(Header(head, "Upload-Offset")!, CultureInfo.InvariantCulture);
            }

            resume = true;
            using var append = Draft(HttpMethod.Patch, url);
            append.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
            append.Headers.Add("Upload-Complete", "?1");
            append.Content = new WatchedContent(body, (int)offset, body.Length - (int)offset, onLast);
            append.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
            using var appended = await http.SendAsync(append);
            Check(appended, HttpStatusCode.NoContent);
            return Header(appended, "Upload-Complete") == "?1" ? IdOf(url) : throw new RetryException("The append did not complete the upload.");
        }, retried);
    }

    private async Task<long> OneShotAsync(byte[] body, Action<double> onLast, List<long> created, Action retried) =>
        await RetryAsync(async () =>
        {
            var content = new WatchedContent(body, 0, body.Length, onLast);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var response = await http.PostAsync("/media/upload?filename=fault.bin", content);
            if ((int)response.StatusCode >= 400 && response.Content.Headers.ContentType?.MediaType == "application/problem+json")
            {
                var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
                if (problem.TryGetProperty("mediaId", out var failed))
                {
                    created.Add(failed.GetInt64());
                }
            }

            Check(response, HttpStatusCode.Created);
            var id = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();
            created.Add(id);
            return id;
        }, retried);

    private static async Task<long> RetryAsync(Func<Task<long>> attempt, Action retried)
    {
        for (var i = 0; ; i++)
        {
            try
            {
                return await attempt();
            }
            catch (Exception ex) when (ex is RetryException or HttpRequestException or TaskCanceledException or IOException)
            {
                if (i == Delays.Length)
                {
                    throw new UploadFailedException($"Gave up after {Delays.Length} retries: {ex.Message}", ex);
                }

                retried();
                await Task.Delay(Delays[i]);
            }
        }
    }

    private static void Check(HttpResponseMessage response, HttpStatusCode expected)
    {
        if (response.StatusCode == expected)
        {
            return;
        }

        var detail = $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath} answered {(int)response.StatusCode}";
        throw (int)response.StatusCode >= 500 || Retryable.Contains(response.StatusCode)
            ? new RetryException(detail)
            : new UploadFailedException(detail);
    }

    private static HttpRequestMessage Tus(HttpMethod method, string url)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Add("Tus-Resumable", "1.0.0");
        return request;
    }

    private static HttpRequestMessage Draft(HttpMethod method, string url)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Add("Upload-Draft-Interop-Version", "6");
        return request;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static long IdOf(string url) => long.Parse(url.TrimEnd('/').Split('/')[^1], CultureInfo.InvariantCulture);

    private sealed class RetryException(string message) : Exception(message);

    /// <summary>A request body that reports how much of it went out (to the socket, not necessarily to the server).</summary>
    private sealed class WatchedContent(byte[] bytes, int offset, int count, Action<double>? progress) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            const int Slice = 64 * 1024;
            var halfTold = false;
            for (var sent = 0; sent < count;)
            {
                var n = Math.Min(Slice, count - sent);
                await stream.WriteAsync(bytes.AsMemory(offset + sent, n));
                sent += n;
                if (!halfTold && sent >= count / 2)
                {
                    halfTold = true;
                    progress?.Invoke(0.5);
                }
            }

            await stream.FlushAsync();
            progress?.Invoke(1.0);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = count;
            return true;
        }
    }
}
