using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;
using MediaService.TestRules;

namespace MediaService.IntegrationTests;

[Collection(MediaServiceCollection.Name)]
public sealed class TusProtocolTests(MediaServiceFixture fixture)
{
    private const int Mib = 1024 * 1024;
    private readonly HttpClient _http = fixture.Http;

    [Fact]
    public async Task OptionsAdvertisesTheVersionExtensionsAndMaximumSize()
    {
        using var response = await _http.SendAsync(Tus.Request(HttpMethod.Options, "/files/", withVersion: false));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("1.0.0", Tus.Header(response, "Tus-Version"));
        var extensions = Tus.Header(response, "Tus-Extension")!.Split(',');
        Assert.Contains("creation", extensions);
        Assert.Contains("creation-with-upload", extensions);
        Assert.Contains("creation-defer-length", extensions);
        Assert.Contains("expiration", extensions);
        Assert.Contains("termination", extensions);
        Assert.Equal((128L * Mib).ToString(System.Globalization.CultureInfo.InvariantCulture), Tus.Header(response, "Tus-Max-Size"));
    }

    [Fact]
    public async Task ARequestWithoutOurTusVersionGets412AndIsNotProcessed()
    {
        using var create = Tus.Request(HttpMethod.Post, "/files/", withVersion: false);
        create.Headers.Add("Upload-Length", "10");
        using var response = await _http.SendAsync(create);

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.Equal("1.0.0", Tus.Header(response, "Tus-Version"));
        Assert.Null(response.Headers.Location);

        var url = await Tus.CreateUrlAsync(_http, 10);
        using var patch = Tus.Request(HttpMethod.Patch, url, withVersion: false);
        patch.Headers.Add("Upload-Offset", "0");
        patch.Content = Tus.Chunk(new byte[10]);
        using var patched = await _http.SendAsync(patch);
        Assert.Equal(HttpStatusCode.PreconditionFailed, patched.StatusCode);
        using var head = await Tus.HeadAsync(_http, url);
        Assert.Equal(0, Tus.Offset(head));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("10", "1")]
    [InlineData(null, "2")]
    [InlineData("-1", null)]
    [InlineData("abc", null)]
    [InlineData("1.5", null)]
    public async Task CreationNeedsExactlyOneValidLengthHeader(string? length, string? defer)
    {
        using var request = Tus.Request(HttpMethod.Post, "/files/");
        if (length is not null)
        {
            request.Headers.TryAddWithoutValidation("Upload-Length", length);
        }

        if (defer is not null)
        {
            request.Headers.TryAddWithoutValidation("Upload-Defer-Length", defer);
        }

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task CreationOverTheMaximumSizeGets413()
    {
        using var response = await Tus.CreateAsync(_http, 128L * Mib + 1);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Theory]
    [InlineData("key value extra")]
    [InlineData("filename YQ==,filename Yg==")]
    [InlineData("filename not*base64")]
    [InlineData(",filename YQ==")]
    [InlineData("a\tb YQ==")]
    public async Task InvalidUploadMetadataGets400(string metadata)
    {
        using var response = await Tus.CreateAsync(_http, 10, metadata);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task ACreatedUploadReportsItsOffsetLengthMetadataAndExpiry()
    {
        var metadata = $"filename {Tus.Base64("été à la plage.jpg")},filetype {Tus.Base64("image/jpeg")},empty";
        using var created = await Tus.CreateAsync(_http, 10, metadata);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("1.0.0", Tus.Header(created, "Tus-Resumable"));
        Assert.NotNull(Tus.Header(created, "Upload-Expires"));
        var url = created.Headers.Location!.OriginalString;
        Assert.Matches("^/files/[0-9]+$", url);

        using var head = await Tus.HeadAsync(_http, url);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(0, Tus.Offset(head));
        Assert.Equal("10", Tus.Header(head, "Upload-Length"));
        Assert.Equal(metadata, Tus.Header(head, "Upload-Metadata"));
        Assert.True(head.Headers.CacheControl?.NoStore);
        Assert.True(DateTimeOffset.Parse(Tus.Header(head, "Upload-Expires")!, System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.AddHours(23));

        var item = await _http.GetFromJsonAsync<JsonElement>($"/media/{Tus.IdOf(url)}/metadata");
        Assert.Equal("été à la plage.jpg", item.GetProperty("fileName").GetString());
        Assert.Equal("image/jpeg", item.GetProperty("contentType").GetString());
        Assert.Equal("receiving", item.GetProperty("status").GetString());
    }

    [Theory]
    [InlineData(1 * Mib)]
    [InlineData(5 * Mib + 1)]
    [InlineData(12 * Mib + 3)]
    public async Task AnUploadSentInChunksIsStoredByteIdentical(int chunk)
    {
        var body = Payloads.Random(12 * Mib + 3, seed: chunk);
        var url = await Tus.CreateUrlAsync(_http, body.Length);

        long offset = 0;
        while (offset < body.Length)
        {
            var count = (int)Math.Min(chunk, body.Length - offset);
            using var response = await Tus.PatchAsync(_http, url, offset, Tus.Chunk(body, (int)offset, count));
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            Assert.Equal(offset + count, Tus.Offset(response));
            offset += count;

            // An unfinished upload tells when it expires; a finished one no longer expires.
            Assert.Equal(offset < body.Length, Tus.Header(response, "Upload-Expires") is not null);

            using var head = await Tus.HeadAsync(_http, url);
            Assert.Equal(offset, Tus.Offset(head));
        }

        await AssertStoredAsync(url, body);
    }

    [Fact]
    public async Task CreationWithUploadTakesTheBodyAsTheFirstChunk()
    {
        var body = Payloads.Random(6 * Mib, seed: 21);
        using var created = await Tus.CreateAsync(_http, body.Length, body: body[..(3 * Mib)]);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(3 * Mib, Tus.Offset(created));
        var url = created.Headers.Location!.OriginalString;
        using var rest = await Tus.PatchAsync(_http, url, 3 * Mib, Tus.Chunk(body, 3 * Mib));
        Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);

        await AssertStoredAsync(url, body);
    }

    [Fact]
    public async Task AnEmptyUploadIsCompleteAtOnce()
    {
        var url = await Tus.CreateUrlAsync(_http, 0);

        using var head = await Tus.HeadAsync(_http, url);
        Assert.Equal(0, Tus.Offset(head));
        Assert.Equal("0", Tus.Header(head, "Upload-Length"));
        await AssertStoredAsync(url, []);
    }

    [Fact]
    public async Task ADeferredLengthIsSetByALaterPatch()
    {
        var body = Payloads.Random(2 * Mib + 5, seed: 31);
        var url = await Tus.CreateUrlAsync(_http, null);
        using (var head = await Tus.HeadAsync(_http, url))
        {
            Assert.Equal("1", Tus.Header(head, "Upload-Defer-Length"));
            Assert.Null(Tus.Header(head, "Upload-Length"));
        }

        using var first = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body, 0, Mib));
        Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        using var last = await Tus.PatchAsync(_http, url, Mib, Tus.Chunk(body, Mib), length: body.Length);
        Assert.Equal(HttpStatusCode.NoContent, last.StatusCode);

        await AssertStoredAsync(url, body);
        using var changed = await Tus.PatchAsync(_http, url, body.Length, Tus.Chunk([]), length: body.Length + 1);
        Assert.NotEqual(HttpStatusCode.NoContent, changed.StatusCode);
    }

    [Fact]
    public async Task APatchAtAnotherOffsetGets409AndChangesNothing()
    {
        var url = await Tus.CreateUrlAsync(_http, 100);
        using var first = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(new byte[10]));

        using var response = await Tus.PatchAsync(_http, url, 5, Tus.Chunk(new byte[10]));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        using var head = await Tus.HeadAsync(_http, url);
        Assert.Equal(10, Tus.Offset(head));
    }

    [Fact]
    public async Task APatchWithAnotherContentTypeGets415()
    {
        var url = await Tus.CreateUrlAsync(_http, 10);
        var content = new ByteArrayContent(new byte[10]);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");

        using var response = await Tus.PatchAsync(_http, url, 0, content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("-1")]
    [InlineData("x")]
    public async Task APatchWithoutAValidOffsetGets400(string? offset)
    {
        var url = await Tus.CreateUrlAsync(_http, 10);
        using var request = Tus.Request(HttpMethod.Patch, url);
        if (offset is not null)
        {
            request.Headers.TryAddWithoutValidation("Upload-Offset", offset);
        }

        request.Content = Tus.Chunk(new byte[10]);
        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task WritingPastTheLengthGets413AndStoresNothingBeyondIt()
    {
        var url = await Tus.CreateUrlAsync(_http, 10);

        using var response = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(new byte[11]));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        using var head = await Tus.HeadAsync(_http, url);
        Assert.Equal(0, Tus.Offset(head));
    }

    [Fact]
    public async Task TerminationFreesTheUploadWhichIsThenGone()
    {
        var url = await Tus.CreateUrlAsync(_http, 10 * Mib);
        using var patch = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(new byte[6 * Mib]));

        using var deleted = await _http.SendAsync(Tus.Request(HttpMethod.Delete, url));

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var head = await Tus.HeadAsync(_http, url);
        Assert.Equal(HttpStatusCode.Gone, head.StatusCode);
        Assert.Null(Tus.Offset(head));
        using var again = await Tus.PatchAsync(_http, url, 6 * Mib, Tus.Chunk(new byte[1]));
        Assert.Equal(HttpStatusCode.Gone, again.StatusCode);
    }

    [Theory]
    [InlineData("HEAD")]
    [InlineData("PATCH")]
    [InlineData("DELETE")]
    public async Task AnUnknownUploadGets404(string method)
    {
        using var request = Tus.Request(new HttpMethod(method), "/files/123");
        request.Headers.Add("Upload-Offset", "0");
        if (method == "PATCH")
        {
            request.Content = Tus.Chunk([1]);
        }

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Null(Tus.Offset(response));
    }

    [Fact]
    public async Task XHttpMethodOverrideIsHonoured()
    {
        var url = await Tus.CreateUrlAsync(_http, 3);
        using var request = Tus.Request(HttpMethod.Post, url);
        request.Headers.Add("X-HTTP-Method-Override", "PATCH");
        request.Headers.Add("Upload-Offset", "0");
        request.Content = Tus.Chunk([1, 2, 3]);

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(3, Tus.Offset(response));
    }

    // A body without a declared length is read into a buffer; a body with a Content-Length has its parts streamed to
    // S3 as they arrive (5 MiB parts here). A cut inside the first streamed part or inside a later one keeps what
    // arrived all the same.
    [Theory]
    [InlineData(8, 3, false)]
    [InlineData(20, 3, true)]
    [InlineData(20, 6, true)]
    [InlineData(20, 11, true)]
    public async Task APatchCutOffMidwayKeepsWhatArrivedAndTheUploadResumesByteIdentical(int mib, int cutAtMib, bool declaresLength)
    {
        var body = Payloads.Random(mib * Mib, seed: 41 + cutAtMib);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        var gated = new GatedStream(body, gateAt: cutAtMib * Mib);
        var content = new StreamContent(gated);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/offset+octet-stream");
        content.Headers.ContentLength = declaresLength ? body.Length : null;
        using var abort = new CancellationTokenSource();
        using var request = Tus.Request(HttpMethod.Patch, url);
        request.Headers.Add("Upload-Offset", "0");
        request.Content = content;

        var cutOff = _http.SendAsync(request, abort.Token);
        await gated.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        await Eventually.HoldsAsync(async () => (await fixture.Cluster.Client.GetGrain<Grains.Interfaces.IMediaItemGrain>(Tus.IdOf(url)).GetMetadataAsync())!.UpdatedAt,
            _ => true, TimeSpan.FromSeconds(5), "the grain answering");
        await abort.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cutOff);

        // What arrived before the cut is durable: HEAD reports it once the server has saved it.
        var offset = await Eventually.HoldsAsync(
            async () => { using var head = await Tus.HeadAsync(_http, url); return Tus.Offset(head) ?? 0; },
            o => o > 0, TimeSpan.FromSeconds(30), "a durable offset after the cut");
        Assert.InRange(offset, 1, cutAtMib * Mib);

        var resumed = await Eventually.HoldsAsync(
            async () =>
            {
                using var head = await Tus.HeadAsync(_http, url);
                var at = Tus.Offset(head)!.Value;
                using var patch = await Tus.PatchAsync(_http, url, at, Tus.Chunk(body, (int)at));
                return patch.StatusCode;
            },
            status => status == HttpStatusCode.NoContent, TimeSpan.FromSeconds(30), "resuming from HEAD's offset");
        Assert.Equal(HttpStatusCode.NoContent, resumed);
        await AssertStoredAsync(url, body);
    }

    private async Task AssertStoredAsync(string url, byte[] body)
    {
        var id = Tus.IdOf(url);
        var item = await _http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata");
        Assert.Equal("stored", item.GetProperty("status").GetString());
        Assert.Equal(body.Length, item.GetProperty("size").GetInt64());
        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await _http.GetByteArrayAsync($"/media/{id}/content")));
    }
}
