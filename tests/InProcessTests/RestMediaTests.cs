using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MediaService.InProcessTests.Host;
using MediaService.TestRules;

namespace MediaService.InProcessTests;

/// <summary>The REST API: single-request upload, metadata, content with ranges and validators, merge-patch, delete.</summary>
public sealed class RestMediaTests(InProcessHost host) : IClassFixture<InProcessHost>
{
    private const int Mib = Tus.Mib;
    private readonly HttpClient _http = host.Http;

    private async Task<(long Id, byte[] Body)> UploadAsync(int size, int seed, string? fileName = null)
    {
        var body = Tus.Bytes(size, seed);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        if (fileName is not null)
        {
            content.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment") { FileName = fileName };
        }

        using var response = await _http.PostAsync("/media/upload", content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var item = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = item.GetProperty("id").GetInt64();
        Assert.Equal($"/media/{id}", response.Headers.Location!.OriginalString);
        return (id, body);
    }

    private static HttpRequestMessage Patch(long id, string json, string? ifMatch = null, string contentType = "application/merge-patch+json")
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, $"/media/{id}/metadata") { Content = new StringContent(json, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        return request;
    }

    private async Task<HttpResponseMessage> RangeAsync(long id, string range)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/media/{id}/content");
        request.Headers.TryAddWithoutValidation("Range", range);
        return await _http.SendAsync(request);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    [InlineData(5 * Mib)]
    [InlineData(11 * Mib + 7)]
    public async Task UploadedBytesComeBackIdenticalWithTheirMetadata(int size)
    {
        var (id, body) = await UploadAsync(size, seed: size, fileName: "notes.bin");

        var item = await _http.GetFromJsonAsync<JsonElement>($"/media/{id}");
        Assert.Equal("stored", item.GetProperty("status").GetString());
        Assert.Equal(size, item.GetProperty("size").GetInt64());
        Assert.Equal("notes.bin", item.GetProperty("fileName").GetString());
        Assert.Equal(body, await _http.GetByteArrayAsync($"/media/{id}/content"));
        // One object, whatever its key (a single put keeps its writer's key, an assembly the original's).
        Assert.Equal(body, host.Store.Bytes(Assert.Single(host.Store.KeysUnder($"media/{id}/"))));
    }

    [Fact]
    public async Task AChunkedBodyOfUnknownLengthIsStoredWhole()
    {
        var body = Tus.Bytes(6 * Mib + 5, seed: 3);
        var gated = new GatedStream(body, body.Length);
        gated.Open();
        using var content = new StreamContent(gated);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

        using var response = await _http.PostAsync("/media/upload", content);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        Assert.Equal(body, await _http.GetByteArrayAsync($"/media/{id}/content"));
    }

    [Fact]
    public async Task AMultipartFormIsRefusedWith415()
    {
        using var form = new MultipartFormDataContent { { new ByteArrayContent([1, 2, 3]), "file", "a.bin" } };

        using var response = await _http.PostAsync("/media/upload", form);

        await Tus.AssertProblemAsync(response, 415, "unsupported-media-type");
    }

    [Fact]
    public async Task ABodyDeclaredOverTheLimitIsRefusedWith413()
    {
        using var content = new StreamContent(new GatedStream([], 0));
        content.Headers.ContentLength = InProcessHost.MaxUploadBytes + 1;
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

        using var response = await _http.PostAsync("/media/upload", content);

        await Tus.AssertProblemAsync(response, 413, "upload-too-large");
        Assert.Equal(InProcessHost.MaxUploadBytes, (await Tus.ProblemAsync(response)).GetProperty("maxBytes").GetInt64());
    }

    [Theory]
    [InlineData("123")]
    [InlineData("9007199254740992")]
    public async Task AnUnknownIdAnswers404ProblemDetails(string id)
    {
        using var response = await _http.GetAsync($"/media/{id}");

        await Tus.AssertProblemAsync(response, 404, "media-not-found");
    }

    [Fact]
    public async Task TheContentOfAnUnfinishedUploadIsAConflict()
    {
        var url = await Tus.CreateUrlAsync(_http, 10);

        using var response = await _http.GetAsync($"/media/{Tus.IdOf(url)}/content");

        await Tus.AssertProblemAsync(response, 409, "media-not-stored");
    }

    [Theory]
    [InlineData("bytes=0-0", 0, 0)]
    [InlineData("bytes=100-199", 100, 199)]
    [InlineData("bytes=990-", 990, 999)]
    [InlineData("bytes=-10", 990, 999)]
    [InlineData("bytes=900-5000", 900, 999)]
    public async Task ASingleRangeAnswers206WithExactlyThoseBytes(string range, int from, int to)
    {
        var (id, body) = await UploadAsync(1000, seed: 7);

        using var response = await RangeAsync(id, range);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes {from}-{to}/1000", response.Content.Headers.ContentRange?.ToString());
        Assert.Equal(to - from + 1, response.Content.Headers.ContentLength);
        Assert.Equal(body[from..(to + 1)], await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("bytes=1000-")]
    [InlineData("bytes=5000-6000")]
    public async Task ARangeOutsideTheContentAnswers416WithTheLength(string range)
    {
        var (id, _) = await UploadAsync(1000, seed: 8);

        using var response = await RangeAsync(id, range);

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal("bytes */1000", response.Content.Headers.ContentRange?.ToString());
    }

    [Theory]
    [InlineData("bytes=5-1")]
    [InlineData("pages=1-2")]
    [InlineData("bytes=0-1,5-6")]
    public async Task AnInvalidRangeIsIgnoredAndTheWholeContentSent(string range)
    {
        var (id, body) = await UploadAsync(1000, seed: 9);

        using var response = await RangeAsync(id, range);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task AMatchingIfNoneMatchAnswers304WithoutABody()
    {
        var (id, _) = await UploadAsync(1000, seed: 10);
        using var first = await _http.GetAsync($"/media/{id}/content");
        var etag = first.Headers.ETag!;

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/media/{id}/content");
        request.Headers.IfNoneMatch.Add(etag);
        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Equal(etag, response.Headers.ETag);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task AStaleIfRangeGetsTheWholeContent()
    {
        var (id, body) = await UploadAsync(1000, seed: 11);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/media/{id}/content");
        request.Headers.TryAddWithoutValidation("Range", "bytes=0-9");
        request.Headers.TryAddWithoutValidation("If-Range", "\"not-the-etag\"");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task HeadOfTheContentAnswersItsHeadersWithoutTheBody()
    {
        var (id, _) = await UploadAsync(1000, seed: 12);
        using var request = new HttpRequestMessage(HttpMethod.Head, $"/media/{id}/content");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1000, response.Content.Headers.ContentLength);
        Assert.Equal("bytes", response.Headers.AcceptRanges.Single());
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task TheMetadataAnswers304ToItsOwnETag()
    {
        var (id, _) = await UploadAsync(10, seed: 13);
        using var first = await _http.GetAsync($"/media/{id}/metadata");
        Assert.True(first.Headers.CacheControl is { Private: true, NoCache: true });

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/media/{id}/metadata");
        request.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
    }

    [Fact]
    public async Task AMergePatchSetsKeepsAndRemovesFieldsAndMovesTheETag()
    {
        var (id, _) = await UploadAsync(10, seed: 14);
        using var before = await _http.GetAsync($"/media/{id}/metadata");
        var etag = before.Headers.ETag!.ToString();

        using var first = await _http.SendAsync(Patch(id, """{"title":"Harbour","description":"Boats at dawn.","tags":["Sea","Golden Hour"],"custom":{"camera":"X100"}}""", etag));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.NotEqual(etag, first.Headers.ETag!.ToString());
        using var second = await _http.SendAsync(Patch(id, """{"description":null,"custom":{"lens":"23mm"}}""", contentType: "application/json"));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);

        var metadata = await _http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata");
        Assert.Equal("Harbour", metadata.GetProperty("title").GetString());
        Assert.False(metadata.TryGetProperty("description", out _));
        Assert.Equal(["sea", "golden-hour"], metadata.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal("X100", metadata.GetProperty("custom").GetProperty("camera").GetString());
        Assert.Equal("23mm", metadata.GetProperty("custom").GetProperty("lens").GetString());
        Assert.Equal(metadata.GetProperty("version").GetInt64(), host.Index.Row(id)!.Version);
    }

    [Fact]
    public async Task APatchWithAStaleIfMatchGets412AndChangesNothing()
    {
        var (id, _) = await UploadAsync(10, seed: 15);
        using var read = await _http.GetAsync($"/media/{id}/metadata");
        var etag = read.Headers.ETag!.ToString();
        using var moved = await _http.SendAsync(Patch(id, """{"title":"one"}""", etag));
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);

        using var stale = await _http.SendAsync(Patch(id, """{"title":"two"}""", etag));
        using var unknown = await _http.SendAsync(Patch(id, """{"title":"three"}""", "W/\"weak\""));

        await Tus.AssertProblemAsync(stale, 412, "version-mismatch");
        await Tus.AssertProblemAsync(unknown, 412, "version-mismatch");
        Assert.Equal("one", (await _http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata")).GetProperty("title").GetString());
    }

    [Fact]
    public async Task BadPatchesAre400WithEveryBadFieldNamedAndChangeNothing()
    {
        var (id, _) = await UploadAsync(10, seed: 16);
        var version = (await _http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata")).GetProperty("version").GetInt64();

        using var response = await _http.SendAsync(Patch(id, "{\"title\":\"" + new string('t', 201) + "\",\"tags\":[\"ok\",\"#bad\"],\"custom\":{\"9x\":\"y\"}}"));
        using var notJson = await _http.SendAsync(Patch(id, "{title:"));
        using var wrongType = await _http.SendAsync(Patch(id, """{"title":"x"}""", contentType: "text/plain"));

        await Tus.AssertProblemAsync(response, 400, "metadata-invalid");
        var fields = (await Tus.ProblemAsync(response)).GetProperty("errors").EnumerateObject().Select(e => e.Name).ToHashSet();
        Assert.Equal(new HashSet<string> { "title", "tags[1]", "custom.9x" }, fields);
        await Tus.AssertProblemAsync(notJson, 400, "metadata-invalid");
        // Routing refuses the type before the handler (the route's Accepts); the problem still carries the catalogue's code.
        await Tus.AssertProblemAsync(wrongType, 415, "unsupported-media-type");
        Assert.Equal(version, (await _http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata")).GetProperty("version").GetInt64());
    }

    [Fact]
    public async Task ADeleteLeavesNoObjectAndNoIndexRowAndTheItemIsThenNotFound()
    {
        var (id, _) = await UploadAsync(6 * Mib, seed: 17);
        Assert.NotEmpty(host.Store.KeysUnder($"media/{id}/"));

        using var deleted = await _http.DeleteAsync($"/media/{id}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(host.Store.KeysUnder($"media/{id}/"));
        Assert.Null(host.Index.Row(id));
        using var after = await _http.GetAsync($"/media/{id}");
        await Tus.AssertProblemAsync(after, 404, "media-not-found");
    }

    [Fact]
    public async Task ADeleteWithAStaleIfMatchGets412AndKeepsTheItem()
    {
        var (id, body) = await UploadAsync(100, seed: 18);
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"/media/{id}");
        request.Headers.TryAddWithoutValidation("If-Match", "\"v999\"");

        using var response = await _http.SendAsync(request);

        await Tus.AssertProblemAsync(response, 412, "version-mismatch");
        Assert.Equal(body, await _http.GetByteArrayAsync($"/media/{id}/content"));
    }

    [Fact]
    public async Task AnotherOwnerCannotReadOrDeleteTheItem()
    {
        var (id, body) = await UploadAsync(100, seed: 19);
        using var bob = host.ClientFor("bob");

        using var metadata = await bob.GetAsync($"/media/{id}");
        using var content = await bob.GetAsync($"/media/{id}/content");
        using var delete = await bob.DeleteAsync($"/media/{id}");

        await Tus.AssertProblemAsync(metadata, 404, "media-not-found");
        await Tus.AssertProblemAsync(content, 404, "media-not-found");
        await Tus.AssertProblemAsync(delete, 404, "media-not-found");
        Assert.Equal(body, await _http.GetByteArrayAsync($"/media/{id}/content"));
    }

    [Fact]
    public async Task AnOwnerOverTheStorageQuotaGets413AndNothingIsCreated()
    {
        host.Index.SetUsage("carol", new DataPlane.OwnerUsage(long.MaxValue / 2, 0));
        using var carol = host.ClientFor("carol");
        using var content = new ByteArrayContent([1, 2, 3]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

        using var response = await carol.PostAsync("/media/upload", content);
        using var tus = await Tus.CreateAsync(carol, 3);

        await Tus.AssertProblemAsync(response, 413, "quota-exceeded");
        await Tus.AssertProblemAsync(tus, 413, "quota-exceeded");
        Assert.Null(tus.Headers.Location);
    }

    [Fact]
    public async Task AnOwnerWithTooManyUnfinishedUploadsGets403()
    {
        host.Index.SetUsage("dave", new DataPlane.OwnerUsage(0, int.MaxValue));
        using var dave = host.ClientFor("dave");

        using var tus = await Tus.CreateAsync(dave, 3);

        await Tus.AssertProblemAsync(tus, 403, "quota-exceeded");
    }
}
