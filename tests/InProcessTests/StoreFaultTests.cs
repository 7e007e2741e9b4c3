using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.InProcessTests.Fakes;
using MediaService.InProcessTests.Host;
using MediaService.TestRules;

namespace MediaService.InProcessTests;

/// <summary>S3 not answering (faults injected in the fake store): 503 with Retry-After, and nothing lost.</summary>
public sealed class StoreFaultTests(InProcessHost host) : IClassFixture<InProcessHost>
{
    private const int Mib = Tus.Mib;
    private readonly HttpClient _http = host.Http;

    private static Func<string, bool> Of(long id) => key => key.StartsWith($"media/{id}/", StringComparison.Ordinal);

    private static async Task AssertUnavailableAsync(HttpResponseMessage response)
    {
        await Tus.AssertProblemAsync(response, 503, "storage-unavailable");
        Assert.Equal("15", response.Headers.RetryAfter?.ToString());
    }

    [Fact]
    public async Task S3DownWhileWritingATailGets503WithRetryAfterAndTheOffsetBeforeItStays()
    {
        var body = Tus.Bytes(3 * Mib, seed: 61);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        var id = Tus.IdOf(url);
        using (var first = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body, 0, Mib)))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        host.Store.FailNext(StoreOperation.Put, 1, Of(id));
        using var failed = await Tus.PatchAsync(_http, url, Mib, Tus.Chunk(body, Mib, Mib));

        await AssertUnavailableAsync(failed);
        Assert.Equal("1.0.0", Tus.Header(failed, "Tus-Resumable"));
        Assert.Equal(Mib, await Tus.OffsetAsync(_http, url));

        using var retried = await Tus.PatchAsync(_http, url, Mib, Tus.Chunk(body, Mib));
        Assert.Equal(HttpStatusCode.NoContent, retried.StatusCode);
        await Assertions.StoredAsync(host, url, body);
    }

    [Fact]
    public async Task S3DownWhileReadingTheTailBackGets503AndTheOffsetStays()
    {
        var body = Tus.Bytes(2 * Mib, seed: 62);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        var id = Tus.IdOf(url);
        using (var first = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body, 0, Mib)))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        host.Store.FailNext(StoreOperation.ReadSmall, 1, Of(id));
        using var failed = await Tus.PatchAsync(_http, url, Mib, Tus.Chunk(body, Mib));

        await AssertUnavailableAsync(failed);
        Assert.Equal(Mib, await Tus.OffsetAsync(_http, url));
        using var retried = await Tus.PatchAsync(_http, url, Mib, Tus.Chunk(body, Mib));
        Assert.Equal(HttpStatusCode.NoContent, retried.StatusCode);
        await Assertions.StoredAsync(host, url, body);
    }

    [Fact]
    public async Task S3DownForABufferedPartGets503AndTheUploadResumesByteIdentical()
    {
        var body = Tus.Bytes(7 * Mib, seed: 63);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        var id = Tus.IdOf(url);
        host.Store.FailNext(StoreOperation.UploadPart, 1, Of(id));

        // Without a declared length the part is buffered, then sent.
        using var request = Tus.Request(HttpMethod.Patch, url);
        request.Headers.Add("Upload-Offset", "0");
        var gated = new GatedStream(body, body.Length);
        gated.Open();
        request.Content = new StreamContent(gated);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(Tus.OffsetType);
        using var failed = await _http.SendAsync(request);

        await AssertUnavailableAsync(failed);
        var offset = (await Tus.OffsetAsync(_http, url))!.Value;
        Assert.Equal(0, offset);
        using var retried = await Tus.PatchAsync(_http, url, offset, Tus.Chunk(body, (int)offset));
        Assert.Equal(HttpStatusCode.NoContent, retried.StatusCode);
        await Assertions.StoredAsync(host, url, body);
    }

    [Fact]
    public async Task AStreamedPartS3DropsIsSentAgainFromTheFrontendsCopy()
    {
        var body = Tus.Bytes(11 * Mib, seed: 64);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        var id = Tus.IdOf(url);
        var resends = host.Store.Calls(StoreOperation.UploadPart);
        host.Store.FailNext(StoreOperation.UploadPartStreaming, 1, Of(id));

        using var response = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(body.Length, Tus.Offset(response));
        Assert.True(host.Store.Calls(StoreOperation.UploadPart) > resends, "the failed part was not sent again");
        await Assertions.StoredAsync(host, url, body);
    }

    [Fact]
    public async Task S3DownWhenTheMultipartUploadWouldOpenGets503AndNothingChanges()
    {
        var body = Tus.Bytes(8 * Mib, seed: 65);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        var id = Tus.IdOf(url);
        host.Store.FailNext(StoreOperation.StartMultipart, 1, Of(id));

        using var failed = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body, 0, 6 * Mib));

        await AssertUnavailableAsync(failed);
        Assert.Equal(0, await Tus.OffsetAsync(_http, url));
        using var retried = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body));
        Assert.Equal(HttpStatusCode.NoContent, retried.StatusCode);
        await Assertions.StoredAsync(host, url, body);
    }

    [Fact]
    public async Task S3DownForASinglePutUploadGets503NamingTheItemThatWasNotStored()
    {
        host.Store.FailNext(StoreOperation.Put, 1, key => key.Contains("/put/", StringComparison.Ordinal));
        using var content = new ByteArrayContent(Tus.Bytes(1000, seed: 66));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

        using var response = await _http.PostAsync("/media/upload", content);

        await AssertUnavailableAsync(response);
        var problem = await Tus.ProblemAsync(response);
        var id = problem.GetProperty("mediaId").GetInt64();
        Assert.Empty(host.Store.KeysUnder($"media/{id}/"));
    }

    [Fact]
    public async Task S3DownWhileServingContentGets503WithRetryAfter()
    {
        var body = Tus.Bytes(500, seed: 67);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        using (var patch = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body)))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        var id = Tus.IdOf(url);
        host.Store.FailNext(StoreOperation.OpenRead, 1, Of(id));

        using var failed = await _http.GetAsync($"/media/{id}/content");

        await AssertUnavailableAsync(failed);
        Assert.Equal(body, await _http.GetByteArrayAsync($"/media/{id}/content"));
    }

    [Fact]
    public async Task AnItemWhoseShardIsBeingMovedGets503WithRetryAfterAndIsUntouched()
    {
        var url = await Tus.CreateUrlAsync(_http, 10);
        var id = Tus.IdOf(url);
        var shard = DataPlane.Sharding.ShardKey.Of(id);
        host.Placement.SetState(shard, DataPlane.Sharding.ShardState.Draining);
        try
        {
            using var patch = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(new byte[10]));
            using var metadata = await _http.GetAsync($"/media/{id}");

            await Tus.AssertProblemAsync(patch, 503, "storage-unavailable");
            Assert.NotNull(patch.Headers.RetryAfter);
            Assert.Equal("1.0.0", Tus.Header(patch, "Tus-Resumable"));
            await Tus.AssertProblemAsync(metadata, 503, "storage-unavailable");
        }
        finally
        {
            host.Placement.SetState(shard, DataPlane.Sharding.ShardState.Open);
        }

        Assert.Equal(0, await Tus.OffsetAsync(_http, url));
    }
}
