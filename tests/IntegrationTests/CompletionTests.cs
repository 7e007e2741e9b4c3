using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;
using MediaService.TestRules;

namespace MediaService.IntegrationTests;

/// <summary>
/// Completion and fencing on a cluster of its own whose silos reach S3 through a relay: the grain alone assembles an
/// upload, so cutting the silos' way to S3 makes an assembly fail while the frontend still writes parts.
/// </summary>
public sealed class CompletionTests : IAsyncLifetime
{
    private const int Mib = 1024 * 1024;
    private readonly string _serviceId = $"media-completion-{Guid.NewGuid():N}";
    private TcpProxy _silosS3 = null!;
    private Orleans.TestingHost.TestCluster _cluster = null!;
    private FrontendFactory _frontend = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _silosS3 = new TcpProxy(new Uri(TestEnvironment.S3ServiceUrl));
        _cluster = await MediaTestCluster.StartAsync(_serviceId, silos: 1, settings: new Dictionary<string, string>
        {
            ["S3:ServiceUrl"] = _silosS3.Address.ToString().TrimEnd('/'),
            ["S3:MaxRetries"] = "0",
            ["S3:BreakerMinimumThroughput"] = "10000",
        });
        _frontend = new FrontendFactory(_cluster.Options.ClusterId, _serviceId, new Dictionary<string, string?> { ["Uploads:CompletionWait"] = "00:00:05" });
        _http = _frontend.CreateHttpClient();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _frontend.DisposeAsync();
        await _cluster.StopAllSilosAsync();
        await _cluster.DisposeAsync();
        await _silosS3.DisposeAsync();
    }

    // A PATCH of the whole body whose first part is recorded (so its multipart upload is open) before the silos lose S3.
    private async Task<HttpResponseMessage> PatchCuttingSilosOffS3Async(string url, byte[] body)
    {
        var (gated, patch) = GatedPatch(url, body, 6 * Mib);
        await gated.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        var grain = _cluster.Client.GetGrain<Grains.Interfaces.IMediaItemGrain>(Tus.IdOf(url));
        await Eventually.HoldsAsync(async () => (await grain.GetMetadataAsync())!.Offset, offset => offset >= TestEnvironment.PartSize,
            TimeSpan.FromSeconds(30), "the first part recorded");
        _silosS3.Cut();
        gated.Open();
        return await patch;
    }

    private (GatedStream Gate, Task<HttpResponseMessage> Patch) GatedPatch(string url, byte[] body, int gateAt)
    {
        var gated = new GatedStream(body, gateAt);
        var content = new StreamContent(gated);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        content.Headers.ContentLength = body.Length;
        return (gated, Tus.PatchAsync(_http, url, 0, content));
    }

    [Fact]
    public async Task AHeadDuringAnUnfinishedAssemblyNeverSaysCompleteAndTheItemFinishesByItself()
    {
        var body = Payloads.Random(12 * Mib + 5, seed: 1301);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        var id = Tus.IdOf(url);

        // S3 goes away for the silos while the frontend is still streaming parts: the parts land, the assembly cannot.
        using (var answer = await PatchCuttingSilosOffS3Async(url, body))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
            Assert.NotNull(answer.Headers.RetryAfter);
        }

        var metadata = await _http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata");
        Assert.Equal("completing", metadata.GetProperty("status").GetString());
        using (var head = await Tus.HeadAsync(_http, url))
        {
            Assert.Equal(HttpStatusCode.Locked, head.StatusCode);
            Assert.Null(Tus.Offset(head));
            Assert.NotNull(head.Headers.RetryAfter);
        }

        using (var notYet = await _http.GetAsync($"/media/{id}/content"))
        {
            Assert.Equal(HttpStatusCode.Conflict, notYet.StatusCode);
        }

        // S3 back: the next HEAD finishes the assembly before it answers, and the bytes are the client's.
        _silosS3.Restore();
        using (var head = await Eventually.HoldsAsync(() => Tus.HeadAsync(_http, url), h => h.StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "HEAD after S3 came back"))
        {
            Assert.Equal(body.Length, Tus.Offset(head));
        }

        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await _http.GetByteArrayAsync($"/media/{id}/content")));
    }

    [Fact]
    public async Task AnAssemblyLeftUnfinishedIsFinishedByTheGrainWithoutAnyRequest()
    {
        var body = Payloads.Random(7 * Mib, seed: 1302);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        var id = Tus.IdOf(url);
        (await PatchCuttingSilosOffS3Async(url, body)).Dispose();
        _silosS3.Restore();

        // Nobody asks: the completion reminder (Uploads:CompletionReminderDue, 10 s) finishes it.
        var grain = _cluster.Client.GetGrain<Grains.Interfaces.IMediaItemGrain>(id);
        var stored = await Eventually.HoldsAsync(async () => (await grain.GetMetadataAsync())!.Status, s => s == Grains.Interfaces.MediaStatus.Stored,
            TimeSpan.FromSeconds(60), "the item stored by its reminder");
        Assert.Equal(Grains.Interfaces.MediaStatus.Stored, stored);
        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await _http.GetByteArrayAsync($"/media/{id}/content")));
    }

    [Fact]
    public async Task ASupersededSinglePutWriterCannotReplaceAStoredItem()
    {
        var older = Payloads.Random(4 * Mib, seed: 1303);
        var newer = Payloads.Random(4 * Mib, seed: 1304);
        var url = await Tus.CreateUrlAsync(_http, older.Length);
        var id = Tus.IdOf(url);

        // Writer A sends most of its bytes and stalls; writer B takes over and sends everything.
        // B comes through another frontend, as behind a load balancer (a frontend stops an older request of its own first).
        var (gated, writerA) = GatedPatch(url, older, 3 * Mib);
        await gated.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        await using var other = new FrontendFactory(_cluster.Options.ClusterId, _serviceId);
        using var otherHttp = other.CreateHttpClient();
        using (var writerB = await Tus.PatchAsync(otherHttp, url, 0, Tus.Chunk(newer)))
        {
            Assert.Equal(HttpStatusCode.NoContent, writerB.StatusCode);
        }

        gated.Open();
        using (var answerA = await writerA)
        {
            Assert.Equal(HttpStatusCode.Conflict, answerA.StatusCode);
        }

        using var read = await _http.GetAsync($"/media/{id}/content");
        var served = await read.Content.ReadAsByteArrayAsync();
        Assert.Equal(Payloads.Sha256(newer), Payloads.Sha256(served));
        Assert.Equal($"\"{Payloads.Sha256(newer)}\"", read.Headers.ETag?.Tag);

        // A's object, written under its own lease's key, was deleted by the grain that refused it.
        Assert.Single(await TestEnvironment.KeysAsync($"media/{id}/put/"));
    }

    [Fact]
    public async Task TenThousandTailOnlyAppendsSpendNoPartNumberAndTheUploadFinishes()
    {
        const int Appends = 10_050;
        var body = Payloads.Random(Appends + 6 * Mib, seed: 1305);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        for (var offset = 0; offset < Appends; offset++)
        {
            using var patch = await Tus.PatchAsync(_http, url, offset, Tus.Chunk(body, offset, 1));
            Assert.True(patch.StatusCode == HttpStatusCode.NoContent, $"Append {offset} answered {(int)patch.StatusCode}");
        }

        using (var rest = await Tus.PatchAsync(_http, url, Appends, Tus.Chunk(body, Appends)))
        {
            Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);
            Assert.Equal(body.Length, Tus.Offset(rest));
        }

        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await _http.GetByteArrayAsync($"/media/{Tus.IdOf(url)}/content")));
    }
}
