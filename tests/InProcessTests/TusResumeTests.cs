using System.Net;
using System.Net.Http.Headers;
using MediaService.InProcessTests.Fakes;
using MediaService.InProcessTests.Host;
using MediaService.TestRules;

namespace MediaService.InProcessTests;

/// <summary>Interrupted appends, resumption from the durable offset, and a newer writer taking an upload over.</summary>
public sealed class TusResumeTests(InProcessHost host) : IClassFixture<InProcessHost>
{
    private const int Mib = Tus.Mib;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly HttpClient _http = host.Http;

    // A body without a declared length is read into buffers; one with a Content-Length has its parts streamed to S3 as
    // they arrive (5 MiB parts). A cut inside the first part or a later one keeps what arrived all the same.
    [Theory]
    [InlineData(8, 3, false)]
    [InlineData(12, 3, true)]
    [InlineData(12, 7, true)]
    [InlineData(12, 7, false)]
    public async Task APatchCutOffMidwayKeepsWhatArrivedAndTheUploadResumesByteIdentical(int mib, int cutAtMib, bool declaresLength)
    {
        var body = Tus.Bytes(mib * Mib, seed: 41 + cutAtMib);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        var gated = new GatedStream(body, gateAt: cutAtMib * Mib);
        using var request = Tus.Request(HttpMethod.Patch, url);
        request.Headers.Add("Upload-Offset", "0");
        request.Content = new StreamContent(gated);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(Tus.OffsetType);
        request.Content.Headers.ContentLength = declaresLength ? body.Length : null;
        using var abort = new CancellationTokenSource();

        var cutOff = _http.SendAsync(request, abort.Token);
        await gated.Reached.WaitAsync(Bound);
        await abort.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cutOff);

        // What arrived before the cut becomes durable; HEAD reports it, and never more than arrived.
        var offset = await Assertions.EventuallyAsync(() => Tus.OffsetAsync(_http, url), o => o > 0, Bound, "a durable offset after the cut");
        Assert.InRange(offset!.Value, 1, cutAtMib * Mib);
        Assert.Equal(offset, await Tus.OffsetAsync(_http, url));

        using var resumed = await Tus.PatchAsync(_http, url, offset.Value, Tus.Chunk(body, (int)offset.Value));
        Assert.Equal(HttpStatusCode.NoContent, resumed.StatusCode);
        Assert.Equal(body.Length, Tus.Offset(resumed));
        await Assertions.StoredAsync(host, url, body);
    }

    [Fact]
    public async Task ANewerWriterTakesTheUploadOverAndTheOlderOneGets409()
    {
        var body = Tus.Bytes(6 * Mib, seed: 51);
        var url = await Tus.CreateUrlAsync(_http, body.Length);

        // The older writer streams its first part and stalls.
        var (gated, olderAnswer) = await StallAsync(url, Tus.Bytes(6 * Mib, seed: 52));

        // A newer writer (the client retrying) takes over from the durable offset.
        using var newer = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body, 0, Mib));
        Assert.Equal(HttpStatusCode.NoContent, newer.StatusCode);
        Assert.Equal(Mib, Tus.Offset(newer));

        gated.Open();
        using var olderResponse = await olderAnswer.WaitAsync(Bound);
        await Tus.AssertProblemAsync(olderResponse, 409, "upload-conflict");
        Assert.Equal(Mib, await Tus.OffsetAsync(_http, url));

        using var rest = await Tus.PatchAsync(_http, url, Mib, Tus.Chunk(body, Mib));
        Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);
        await Assertions.StoredAsync(host, url, body);
    }

    // The newer writer finishes the upload while the older one's part is still on its way: S3 no longer knows the older
    // writer's multipart upload (NoSuchUpload). The older writer is told it lost the upload (409), never a 500, and the
    // content is the newer writer's.
    [Fact]
    public async Task AnOlderWriterWhoseUploadANewerOneFinishedGets409NotA500()
    {
        var body = Tus.Bytes(6 * Mib, seed: 56);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        var (gated, olderAnswer) = await StallAsync(url, Tus.Bytes(6 * Mib, seed: 57));

        using var newer = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body, 0));
        Assert.Equal(HttpStatusCode.NoContent, newer.StatusCode);
        Assert.Equal(body.Length, Tus.Offset(newer));

        gated.Open();
        using var olderResponse = await olderAnswer.WaitAsync(Bound);
        Assert.Equal(HttpStatusCode.Conflict, olderResponse.StatusCode);
        await Assertions.StoredAsync(host, url, body);
    }

    // The store loses the multipart upload of an item still receiving (a lifecycle rule, an operator): the writer's part
    // cannot be kept. It is told to retry later (503), never a 500, and the offset stays what was recorded.
    [Fact]
    public async Task APartWhoseUploadTheStoreLostGets503AndTheOffsetStaysTrue()
    {
        var body = Tus.Bytes(6 * Mib, seed: 58);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        var id = Tus.IdOf(url);
        var (gated, answer) = await StallAsync(url, body);

        Assert.Equal(1, host.Store.LoseUploadsUnder($"media/{id}/"));
        gated.Open();
        using var response = await answer.WaitAsync(Bound);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal(0, await Tus.OffsetAsync(_http, url));
    }

    [Fact]
    public async Task TheOffsetReportedAfterAPatchIsWhatTheNextPatchMustSend()
    {
        var body = Tus.Bytes(3000, seed: 53);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        using var first = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body, 0, 1000));
        var reported = Tus.Offset(first)!.Value;

        using var replayed = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body, 0, 1000));
        using var next = await Tus.PatchAsync(_http, url, reported, Tus.Chunk(body, (int)reported));

        Assert.Equal(1000, reported);
        Assert.Equal(HttpStatusCode.Conflict, replayed.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, next.StatusCode);
        await Assertions.StoredAsync(host, url, body);
    }

    [Fact]
    public async Task APatchToAStoredUploadGets409AndTheContentStaysAsItWas()
    {
        var body = Tus.Bytes(100, seed: 54);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        using var all = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body));
        Assert.Equal(HttpStatusCode.NoContent, all.StatusCode);

        using var more = await Tus.PatchAsync(_http, url, 100, Tus.Chunk([1]));

        await Tus.AssertProblemAsync(more, 409, "upload-conflict");
        await Assertions.StoredAsync(host, url, body);
    }

    // Starts a PATCH at offset 0 whose declared body streams its first part to S3 and then stalls after a MiB, until the
    // test opens the gate; returns once the part is on its way.
    private async Task<(GatedStream Gate, Task<HttpResponseMessage> Answer)> StallAsync(string url, byte[] body)
    {
        var id = Tus.IdOf(url);
        var streaming = host.Store.WhenCalledAsync(StoreOperation.UploadPartStreaming, k => k.StartsWith($"media/{id}/", StringComparison.Ordinal));
        var gated = new GatedStream(body, gateAt: Mib);
        var request = Tus.Request(HttpMethod.Patch, url);
        request.Headers.Add("Upload-Offset", "0");
        request.Content = new StreamContent(gated);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(Tus.OffsetType);
        request.Content.Headers.ContentLength = body.Length;
        var answer = SendAndDisposeAsync(request);
        await streaming.WaitAsync(Bound);
        await gated.Reached.WaitAsync(Bound);
        return (gated, answer);
    }

    private async Task<HttpResponseMessage> SendAndDisposeAsync(HttpRequestMessage request)
    {
        using (request)
        {
            return await _http.SendAsync(request);
        }
    }
}
