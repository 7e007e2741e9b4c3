using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;
using MediaService.Tests;

namespace MediaService.IntegrationTests;

/// <summary>Editing metadata (JSON merge patch, If-Match), deleting items, through the real stack.</summary>
[Collection(MediaServiceCollection.Name)]
public sealed class MetadataTests(MediaServiceFixture fixture)
{
    private readonly HttpClient _http = fixture.Http;

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

    // An item whose processing has ended (its version moves no more by itself).
    private async Task<long> NewItemAsync()
    {
        var id = await MediaFiles.UploadAsync(_http, Encoding.UTF8.GetBytes("notes"), "notes.txt", "text/plain");
        await MediaFiles.ProcessedAsync(_http, id);
        return id;
    }

    private Task<long?> IndexedVersionAsync(long id) => TestEnvironment.IndexedVersionAsync(fixture.ServiceId, id);

    [Fact]
    public async Task APatchSetsKeepsAndRemovesFieldsAndMovesTheETag()
    {
        var id = await NewItemAsync();
        using var before = await _http.GetAsync($"/media/{id}/metadata");
        var etag = before.Headers.ETag!.ToString();

        using var first = await _http.SendAsync(Patch(id, """{"title":"Harbour","description":"Boats at dawn.","tags":["Sea","Golden Hour"],"keywords":["boats"],"custom":{"camera":"X100"}}"""));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.NotEqual(etag, first.Headers.ETag!.ToString());
        using var second = await _http.SendAsync(Patch(id, """{"description":null,"custom":{"lens":"23mm"}}""", contentType: "application/json"));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);

        var metadata = await _http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata");
        Assert.Equal("Harbour", metadata.GetProperty("title").GetString());
        Assert.False(metadata.TryGetProperty("description", out _));
        Assert.Equal(["sea", "golden-hour"], metadata.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal(["boats"], metadata.GetProperty("keywords").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal("X100", metadata.GetProperty("custom").GetProperty("camera").GetString());
        Assert.Equal("23mm", metadata.GetProperty("custom").GetProperty("lens").GetString());
        Assert.Equal(metadata.GetProperty("version").GetInt64(), await Eventually.HoldsAsync(() => IndexedVersionAsync(id),
            v => v == metadata.GetProperty("version").GetInt64(), TimeSpan.FromSeconds(10), "the index following the grain"));
    }

    [Fact]
    public async Task BadPatchesAre400WithEveryBadFieldNamedAndChangeNothing()
    {
        var id = await NewItemAsync();
        var version = (await _http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata")).GetProperty("version").GetInt64();

        var longTitle = new string('t', 201);
        using var response = await _http.SendAsync(Patch(id, "{\"title\":\"" + longTitle + "\",\"tags\":[\"ok\",\"#bad\"],\"custom\":{\"9x\":\"y\"},\"status\":\"ready\"}"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("metadata-invalid", problem.GetProperty("code").GetString());
        var fields = problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).ToHashSet();
        Assert.Subset(fields, new HashSet<string> { "status" });
        using var shapeOk = await _http.SendAsync(Patch(id, "{\"title\":\"" + longTitle + "\",\"tags\":[\"ok\",\"#bad\"],\"custom\":{\"9x\":\"y\"}}"));
        var rules = (await shapeOk.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateObject().Select(e => e.Name).ToHashSet();
        Assert.Equal(new HashSet<string> { "title", "tags[1]", "custom.9x" }, rules);
        using var notJson = await _http.SendAsync(Patch(id, "{title:"));
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        using var wrongType = await _http.SendAsync(Patch(id, """{"title":"x"}""", contentType: "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, wrongType.StatusCode);

        Assert.Equal(version, (await _http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata")).GetProperty("version").GetInt64());
    }

    [Fact]
    public async Task OfTwoRacingPatchesWithTheSameIfMatchOneWinsAndTheOtherGets412()
    {
        var id = await NewItemAsync();
        using var read = await _http.GetAsync($"/media/{id}/metadata");
        var etag = read.Headers.ETag!.ToString();

        var responses = await Task.WhenAll(
            _http.SendAsync(Patch(id, """{"title":"one"}""", etag)),
            _http.SendAsync(Patch(id, """{"title":"two"}""", etag)));

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.PreconditionFailed], responses.Select(r => r.StatusCode).Order());
        var winner = await responses.Single(r => r.IsSuccessStatusCode).Content.ReadFromJsonAsync<JsonElement>();
        var loser = await responses.Single(r => !r.IsSuccessStatusCode).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("version-mismatch", loser.GetProperty("code").GetString());
        Assert.Equal(winner.GetProperty("title").GetString(), (await _http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata")).GetProperty("title").GetString());
        using var stale = await _http.SendAsync(Patch(id, """{"title":"three"}""", etag));
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        using var unparseable = await _http.SendAsync(Patch(id, """{"title":"three"}""", "\"nonsense\""));
        Assert.Equal(HttpStatusCode.PreconditionFailed, unparseable.StatusCode);
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task ADeleteLeavesNoObjectInS3AndNoIndexRow()
    {
        var id = await MediaFiles.UploadAsync(_http, MediaCorpus.Image(300, 200, new SixLabors.ImageSharp.Formats.Png.PngEncoder()), "p.png", "image/png");
        await MediaFiles.ProcessedAsync(_http, id);
        Assert.NotEmpty(await TestEnvironment.KeysAsync($"media/{id}/"));
        Assert.NotNull(await IndexedVersionAsync(id));

        using var stale = new HttpRequestMessage(HttpMethod.Delete, $"/media/{id}");
        stale.Headers.TryAddWithoutValidation("If-Match", "\"v1\"");
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await _http.SendAsync(stale)).StatusCode);
        using var delete = await _http.DeleteAsync($"/media/{id}");

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"/media/{id}/metadata")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"/media/{id}/content")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"/media/{id}/renditions/thumb.webp")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.SendAsync(Patch(id, """{"title":"x"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.DeleteAsync($"/media/{id}")).StatusCode);
        Assert.Empty(await TestEnvironment.KeysAsync($"media/{id}/"));
        Assert.Null(await IndexedVersionAsync(id));
    }
}
