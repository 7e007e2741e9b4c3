using System.Net;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;
using MediaService.Tests;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;

namespace MediaService.IntegrationTests;

/// <summary>Processing of a corpus made at test time, through the real stack: ffmpeg, ImageSharp, S3, PostgreSQL.</summary>
[Collection(MediaServiceCollection.Name)]
public sealed class ProcessingTests(MediaServiceFixture fixture)
{
    private readonly HttpClient _http = fixture.Http;

    private async Task<(long Id, JsonElement Metadata)> ProcessAsync(byte[] file, string name, string declared)
    {
        var id = await MediaFiles.UploadAsync(_http, file, name, declared);
        return (id, await MediaFiles.ProcessedAsync(_http, id));
    }

    private static JsonElement Facts(JsonElement metadata) => MediaFiles.Processing(metadata).GetProperty("facts");

    private static void AssertReady(JsonElement metadata)
    {
        var processing = MediaFiles.Processing(metadata);
        Assert.True(processing.GetProperty("status").GetString() == "ready", $"not ready: {processing}");
        Assert.Equal(1, processing.GetProperty("attempts").GetInt32());
    }

    [Fact]
    public async Task APhotoWithAGpsPositionBecomesReadyWithItsFactsAndRenditionsWithoutThePosition()
    {
        var photo = MediaCorpus.JpegWithGps(1600, 1200, orientation: 6);

        var (id, metadata) = await ProcessAsync(photo, "holiday.jpg", "application/octet-stream");

        AssertReady(metadata);
        var facts = Facts(metadata);
        Assert.Equal("image", facts.GetProperty("kind").GetString());
        Assert.Equal("image/jpeg", facts.GetProperty("detectedType").GetString());
        Assert.Equal((1200, 1600), (facts.GetProperty("width").GetInt32(), facts.GetProperty("height").GetInt32()));
        Assert.Equal("TestCam", facts.GetProperty("cameraMake").GetString());
        Assert.Equal("Model 7", facts.GetProperty("cameraModel").GetString());
        Assert.Equal("2026:11:24 18:30:00", facts.GetProperty("takenAt").GetString());
        Assert.DoesNotContain("gps", metadata.GetRawText(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(["thumb.webp", "thumb.jpg", "display.webp", "display.jpg", "thumb.avif", "display.avif"], MediaFiles.RenditionNames(metadata));

        foreach (var rendition in MediaFiles.Processing(metadata).GetProperty("renditions").EnumerateArray())
        {
            using var response = await _http.GetAsync(rendition.GetProperty("url").GetString());
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(rendition.GetProperty("contentType").GetString(), response.Content.Headers.ContentType?.MediaType);
            Assert.True(response.Headers.CacheControl is { Private: true } cache && cache.MaxAge == TimeSpan.FromDays(365)
                && cache.Extensions.Any(e => e.Name == "immutable"), $"Cache-Control: {response.Headers.CacheControl}");
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            var bytes = await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(rendition.GetProperty("size").GetInt64(), bytes.Length);
            if (rendition.GetProperty("contentType").GetString() == "image/avif")
            {
                // ImageSharp reads no AVIF: its boxes say its size, and that it carries no EXIF.
                var avif = MediaService.Grains.Processing.HeifStructure.Read(new MemoryStream(bytes));
                Assert.Null(avif.Exif);
                Assert.Equal((rendition.GetProperty("width").GetInt32(), rendition.GetProperty("height").GetInt32()), avif.Displayed);
                continue;
            }

            var info = Image.Identify(bytes);
            Assert.Null(info.Metadata.ExifProfile);
            Assert.Equal(-1, bytes.AsSpan().IndexOf("Exif\0\0"u8));
            Assert.Equal((rendition.GetProperty("width").GetInt32(), rendition.GetProperty("height").GetInt32()), (info.Width, info.Height));
            Assert.True(info.Height > info.Width, "oriented upright");
        }

        // The original is served as it was uploaded (bytes untouched), as the JPEG it is.
        using var original = await _http.GetAsync($"/media/{id}/content");
        Assert.Equal("image/jpeg", original.Content.Headers.ContentType?.MediaType);
        Assert.Equal(photo, await original.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task RenditionsAnswerRangesConditionalRequestsAndUnknownNames()
    {
        var (id, metadata) = await ProcessAsync(MediaCorpus.Image(500, 400, new PngEncoder()), "chart.png", "image/png");
        AssertReady(metadata);

        using var full = await _http.GetAsync($"/media/{id}/renditions/display.webp");
        var etag = full.Headers.ETag!.ToString();
        var bytes = await full.Content.ReadAsByteArrayAsync();

        using var range = new HttpRequestMessage(HttpMethod.Get, $"/media/{id}/renditions/display.webp");
        range.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(10, 19);
        using var partial = await _http.SendAsync(range);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(bytes[10..20], await partial.Content.ReadAsByteArrayAsync());

        using var conditional = new HttpRequestMessage(HttpMethod.Get, $"/media/{id}/renditions/display.webp");
        conditional.Headers.IfNoneMatch.Add(System.Net.Http.Headers.EntityTagHeaderValue.Parse(etag));
        using var notModified = await _http.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        using var unknown = await _http.GetAsync($"/media/{id}/renditions/original");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var traversal = await _http.GetAsync($"/media/{id}/renditions/..%2Foriginal");
        Assert.Equal(HttpStatusCode.NotFound, traversal.StatusCode);
    }

    public static TheoryData<string, string> Images => new()
    {
        { "png", "image/png" },
        { "gif", "image/gif" },
        { "webp", "image/webp" },
        { "bmp", "image/bmp" },
        { "tiff", "image/tiff" },
    };

    [Theory]
    [MemberData(nameof(Images))]
    public async Task EveryAcceptedImageFormatBecomesReady(string format, string type)
    {
        var file = format switch
        {
            "png" => MediaCorpus.Image(300, 200, new PngEncoder()),
            "gif" => MediaCorpus.AnimatedGif(300, 200, frames: 3),
            "webp" => MediaCorpus.Image(300, 200, new WebpEncoder()),
            "bmp" => MediaCorpus.Image(300, 200, new BmpEncoder()),
            _ => MediaCorpus.Image(300, 200, new TiffEncoder()),
        };

        var (_, metadata) = await ProcessAsync(file, $"picture.{format}", "application/octet-stream");

        AssertReady(metadata);
        Assert.Equal(type, Facts(metadata).GetProperty("detectedType").GetString());
        Assert.Equal(format == "gif" ? 3 : 1, Facts(metadata).GetProperty("frameCount").GetInt32());
    }

    [Fact]
    public async Task AVideoIsProbedAndGetsAPosterAThumbnailAndAWebRenditionWithoutItsMetadata()
    {
        var video = await MediaFiles.VideoAsync("clip.mp4", "640x480", 2,
            extra: "-metadata title=SecretTitle -metadata location=+48.8566+002.3522/ -metadata comment=SecretComment");

        var (id, metadata) = await ProcessAsync(video, "clip.mp4", "video/mp4");

        AssertReady(metadata);
        var facts = Facts(metadata);
        Assert.Equal("video", facts.GetProperty("kind").GetString());
        Assert.Equal("video/mp4", facts.GetProperty("detectedType").GetString());
        Assert.Equal(("h264", "aac"), (facts.GetProperty("videoCodec").GetString(), facts.GetProperty("audioCodec").GetString()));
        Assert.Equal((640, 480), (facts.GetProperty("width").GetInt32(), facts.GetProperty("height").GetInt32()));
        Assert.InRange(facts.GetProperty("durationSeconds").GetDouble(), 1.9, 2.2);
        Assert.Equal(25, facts.GetProperty("frameRate").GetDouble());
        Assert.True(facts.GetProperty("bitRate").GetInt64() > 0);
        Assert.Equal(["poster.webp", "poster.jpg", "thumb.webp", "thumb.jpg", "web.mp4"], MediaFiles.RenditionNames(metadata));
        var steps = MediaFiles.Processing(metadata).GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("name").GetString()!).ToArray();
        Assert.Equal(["sniff", "download", "probe", "stills", "transcode", "store"], steps);

        var web = await _http.GetByteArrayAsync($"/media/{id}/renditions/web.mp4");
        var probe = await MediaFiles.ProbeAsync(web);
        var streams = probe.GetProperty("streams").EnumerateArray().ToArray();
        Assert.Equal(["h264", "aac"], streams.Select(s => s.GetProperty("codec_name").GetString()));
        Assert.Equal((640, 480), (streams[0].GetProperty("width").GetInt32(), streams[0].GetProperty("height").GetInt32()));
        Assert.True(web.AsSpan().IndexOf("moov"u8) < web.AsSpan().IndexOf("mdat"u8), "fast start: the index comes first");
        Assert.Equal(-1, web.AsSpan().IndexOf("Secret"u8));
        Assert.Equal(-1, web.AsSpan().IndexOf("+48.8566"u8));

        var poster = Image.Identify(await _http.GetByteArrayAsync($"/media/{id}/renditions/poster.jpg"));
        Assert.Equal((640, 480), (poster.Width, poster.Height));
        var thumb = Image.Identify(await _http.GetByteArrayAsync($"/media/{id}/renditions/thumb.webp"));
        Assert.Equal((256, 192), (thumb.Width, thumb.Height));
    }

    [Fact]
    public async Task AFullHdVideoGetsAWebRenditionOfAtMost720p()
    {
        var video = await MediaFiles.VideoAsync("big.mp4", "1920x1080", 1);

        var (id, metadata) = await ProcessAsync(video, "big.mp4", "video/mp4");

        AssertReady(metadata);
        var web = MediaFiles.Processing(metadata).GetProperty("renditions").EnumerateArray().Single(r => r.GetProperty("name").GetString() == "web.mp4");
        Assert.Equal((1280, 720), (web.GetProperty("width").GetInt32(), web.GetProperty("height").GetInt32()));
        var probe = await MediaFiles.ProbeAsync(await _http.GetByteArrayAsync($"/media/{id}/renditions/web.mp4"));
        Assert.Equal(720, probe.GetProperty("streams")[0].GetProperty("height").GetInt32());
    }

    [Fact]
    public async Task ARotatedPhoneVideoIsMeasuredAsDisplayed()
    {
        var video = MediaFiles.RotateQuarter(await MediaFiles.VideoAsync("phone.mp4", "640x360", 1));

        var (_, metadata) = await ProcessAsync(video, "phone.mp4", "video/mp4");

        AssertReady(metadata);
        var facts = Facts(metadata);
        Assert.Equal((360, 640), (facts.GetProperty("width").GetInt32(), facts.GetProperty("height").GetInt32()));
        Assert.Equal(90, Math.Abs(facts.GetProperty("rotation").GetInt32()));
        var web = MediaFiles.Processing(metadata).GetProperty("renditions").EnumerateArray().Single(r => r.GetProperty("name").GetString() == "web.mp4");
        Assert.Equal((360, 640), (web.GetProperty("width").GetInt32(), web.GetProperty("height").GetInt32()));
    }

    public static TheoryData<string, string, string> Containers => new()
    {
        { "clip.mov", "-c:v libx264 -preset ultrafast -c:a aac -f mov", "video/quicktime" },
        { "clip.webm", "-c:v libvpx -deadline realtime -cpu-used 8 -c:a libvorbis -f webm", "video/webm" },
        { "clip.mkv", "-c:v libx264 -preset ultrafast -c:a aac -f matroska", "video/x-matroska" },
    };

    [Theory]
    [MemberData(nameof(Containers))]
    public async Task EveryAcceptedVideoContainerBecomesReady(string name, string codecs, string type)
    {
        var video = await MediaFiles.VideoAsync(name, "160x120", 1, codecs);

        var (_, metadata) = await ProcessAsync(video, name, "application/octet-stream");

        AssertReady(metadata);
        Assert.Equal(type, Facts(metadata).GetProperty("detectedType").GetString());
        Assert.Contains("web.mp4", MediaFiles.RenditionNames(metadata));
    }

    public static TheoryData<string, string, string, string> Sounds => new()
    {
        { "tone.mp3", "-c:a libmp3lame -f mp3", "audio/mpeg", "mp3" },
        { "tone.wav", "-c:a pcm_s16le -f wav", "audio/wav", "pcm_s16le" },
        { "tone.flac", "-c:a flac -f flac", "audio/flac", "flac" },
        { "tone.ogg", "-c:a libvorbis -f ogg", "audio/ogg", "vorbis" },
        { "tone.m4a", "-c:a aac -f ipod", "audio/mp4", "aac" },
        { "tone.aac", "-c:a aac -f adts", "audio/aac", "aac" },
    };

    [Theory]
    [MemberData(nameof(Sounds))]
    public async Task EveryAcceptedAudioFormatBecomesReadyWithAnAacRendition(string name, string codec, string type, string codecName)
    {
        var audio = await MediaFiles.AudioAsync(name, codec + " -metadata title=SecretTitle");

        var (id, metadata) = await ProcessAsync(audio, name, "application/octet-stream");

        AssertReady(metadata);
        var facts = Facts(metadata);
        Assert.Equal("audio", facts.GetProperty("kind").GetString());
        Assert.Equal(type, facts.GetProperty("detectedType").GetString());
        Assert.Equal(codecName, facts.GetProperty("audioCodec").GetString());
        Assert.InRange(facts.GetProperty("durationSeconds").GetDouble(), 1.3, 1.7);
        Assert.Equal(["audio.m4a"], MediaFiles.RenditionNames(metadata));
        var m4a = await _http.GetByteArrayAsync($"/media/{id}/renditions/audio.m4a");
        Assert.Equal("aac", (await MediaFiles.ProbeAsync(m4a)).GetProperty("streams")[0].GetProperty("codec_name").GetString());
        Assert.Equal(-1, m4a.AsSpan().IndexOf("SecretTitle"u8));
    }

    [Fact]
    public async Task AnUnchangedItemAnswers304SoThatWaitingForProcessingCostsNoBody()
    {
        var id = await MediaFiles.UploadAsync(_http, MediaCorpus.Image(64, 64, new JpegEncoder()), "a.jpg", "image/jpeg");
        var metadata = await MediaFiles.ProcessedAsync(_http, id);

        using var first = await _http.GetAsync($"/media/{id}/metadata");
        var etag = first.Headers.ETag!;
        Assert.Equal($"\"v{metadata.GetProperty("version").GetInt64()}\"", etag.ToString());
        using var again = new HttpRequestMessage(HttpMethod.Get, $"/media/{id}/metadata");
        again.Headers.IfNoneMatch.Add(etag);
        using var notModified = await _http.SendAsync(again);

        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());
    }
}
