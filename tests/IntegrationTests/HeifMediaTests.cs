using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;
using MediaService.Tests;
using Xunit.Abstractions;

namespace MediaService.IntegrationTests;

/// <summary>
/// Phone formats through the real stack: HEIC and AVIF made at test time with heif-enc end ready with the facts of a
/// JPEG and no GPS in any rendition, the hostile ones end rejected with their reason, the original is served with its
/// real type, and thumb/display are served by Accept (with Vary) and through share links.
/// </summary>
[Collection(MediaServiceCollection.Name)]
public sealed class HeifMediaTests(MediaServiceFixture fixture, ITestOutputHelper output)
{
    private readonly HttpClient _http = fixture.Http;

    private async Task<(long Id, JsonElement Processing)> ProcessAsync(byte[] file, string name)
    {
        var id = await MediaFiles.UploadAsync(_http, file, name, "application/octet-stream");
        var processing = MediaFiles.Processing(await MediaFiles.ProcessedAsync(_http, id));
        output.WriteLine($"{name}: {processing}");
        return (id, processing);
    }

    [Theory]
    [InlineData("photo.heic", false, 1600, 1200)]
    [InlineData("photo.avif", true, 1600, 1200)]
    public async Task APhonePhotoEndsReadyWithItsFactsAndNoGpsInAnyRendition(string name, bool avif, int width, int height)
    {
        var (id, processing) = await ProcessAsync(MediaCorpus.HeifEncode(MediaCorpus.JpegWithGps(width, height), avif), name);

        Assert.Equal("ready", processing.GetProperty("status").GetString());
        var facts = processing.GetProperty("facts");
        Assert.Equal(avif ? "image/avif" : "image/heic", facts.GetProperty("detectedType").GetString());
        Assert.Equal((width, height), (facts.GetProperty("width").GetInt32(), facts.GetProperty("height").GetInt32()));
        Assert.Equal("TestCam", facts.GetProperty("cameraMake").GetString());
        Assert.Equal(8, facts.GetProperty("bitDepth").GetInt32());
        Assert.False(facts.ToString().Contains("GPS", StringComparison.OrdinalIgnoreCase));
        var names = processing.GetProperty("renditions").EnumerateArray().Select(r => r.GetProperty("name").GetString()!).Order().ToArray();
        Assert.Equal(["display.avif", "display.jpg", "display.webp", "thumb.avif", "thumb.jpg", "thumb.webp"], names);
        foreach (var rendition in names)
        {
            var bytes = await _http.GetByteArrayAsync($"/media/{id}/renditions/{rendition}");
            Assert.True(bytes.AsSpan().IndexOf("GPS"u8) < 0 && bytes.AsSpan().IndexOf("Exif"u8) < 0, $"{rendition} carries EXIF");
        }

        using var original = await _http.GetAsync($"/media/{id}/content");
        Assert.Equal(avif ? "image/avif" : "image/heic", original.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task RotatedAndTransparentPhotosKeepWhatTheyAre()
    {
        var (_, rotated) = await ProcessAsync(MediaCorpus.RotatedHeif(MediaCorpus.HeifEncode(MediaCorpus.JpegWithGps(640, 480), avif: false)), "turned.heic");
        Assert.Equal("ready", rotated.GetProperty("status").GetString());
        Assert.Equal((480, 640), (rotated.GetProperty("facts").GetProperty("width").GetInt32(), rotated.GetProperty("facts").GetProperty("height").GetInt32()));

        var (_, alpha) = await ProcessAsync(MediaCorpus.HeifEncode(MediaCorpus.TransparentPng(200, 100), avif: true), "clear.avif");
        Assert.Equal("ready", alpha.GetProperty("status").GetString());
        Assert.True(alpha.GetProperty("facts").GetProperty("hasAlpha").GetBoolean());
    }

    [Fact]
    public async Task HostileHeifFilesEndRejectedWithTheirReasonAndTheServiceStaysHealthy()
    {
        var real = MediaCorpus.HeifEncode(MediaCorpus.JpegWithGps(640, 480), avif: false);
        foreach (var (name, file, reason) in new (string, byte[], string)[]
        {
            ("truncated.heic", MediaCorpus.Truncated(real, 0.6), "could not"),
            ("huge.heic", MediaCorpus.WithImageSize(real, 100_000, 100_000), "100000x100000"),
            ("tiles.heic", MediaCorpus.HeicGridHeader(64, 64), "grid of 4096 tiles"),
            ("frames.avif", MediaCorpus.AvifSequenceHeader(20_000), "20000 frames"),
        })
        {
            var (_, processing) = await ProcessAsync(file, name);
            Assert.Equal("rejected", processing.GetProperty("status").GetString());
            Assert.Contains(reason, processing.GetProperty("reason").GetString(), StringComparison.OrdinalIgnoreCase);
        }

        using var health = await _http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task ThumbAndDisplayAreServedByAcceptThroughKeysAndShareLinks()
    {
        var (id, _) = await ProcessAsync(MediaCorpus.HeifEncode(MediaCorpus.JpegWithGps(800, 600), avif: false), "negotiated.heic");

        async Task<HttpResponseMessage> GetAsync(HttpClient http, string url, string? accept)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (accept is not null)
            {
                request.Headers.TryAddWithoutValidation("Accept", accept);
            }

            return await http.SendAsync(request);
        }

        foreach (var (accept, type) in new[]
        {
            ("image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8", "image/avif"),
            ("image/webp,*/*", "image/webp"),
            ("*/*", "image/jpeg"),
        })
        {
            using var response = await GetAsync(_http, $"/media/{id}/renditions/thumb", accept);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("Accept", response.Headers.Vary);
            var chosen = response.Content.Headers.ContentLocation!.OriginalString;
            using var direct = await GetAsync(_http, chosen, null);
            Assert.Equal(direct.Headers.ETag, response.Headers.ETag);
            output.WriteLine($"Accept: {accept} -> {(int)response.StatusCode} {type}, Content-Location {chosen}, ETag {response.Headers.ETag}");
        }

        using (var none = await GetAsync(_http, $"/media/{id}/renditions/display", "text/html"))
        {
            Assert.Equal(HttpStatusCode.NotAcceptable, none.StatusCode);
        }

        using var made = await _http.PostAsJsonAsync($"/media/{id}/links", new { expiresInSeconds = 600 });
        var link = (await made.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("renditions").GetProperty("thumb").GetString()!;
        using var anonymous = fixture.Frontend.CreateHttpClient(key: null);
        using var linked = await GetAsync(anonymous, link, "image/avif,*/*");
        Assert.Equal(HttpStatusCode.OK, linked.StatusCode);
        Assert.Equal("image/avif", linked.Content.Headers.ContentType?.MediaType);
    }
}
