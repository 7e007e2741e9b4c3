using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;
using MediaService.Tests;

namespace MediaService.IntegrationTests;

/// <summary>
/// The hostile corpus: each file ends in the right status with a clear reason, nothing reaches outside the job's copy,
/// and the service stays healthy.
/// </summary>
[Collection(MediaServiceCollection.Name)]
public sealed class HostileMediaTests(MediaServiceFixture fixture)
{
    private readonly HttpClient _http = fixture.Http;

    private async Task<JsonElement> ProcessAsync(byte[] file, string name, string declared)
    {
        var id = await MediaFiles.UploadAsync(_http, file, name, declared);
        var processing = MediaFiles.Processing(await MediaFiles.ProcessedAsync(_http, id));
        using var health = await _http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        return processing;
    }

    private async Task AssertRejectedAsync(byte[] file, string name, string declared, params string[] reasonParts)
    {
        var processing = await ProcessAsync(file, name, declared);
        Assert.True(processing.GetProperty("status").GetString() == "rejected", $"{name}: {processing}");
        var reason = processing.GetProperty("reason").GetString()!;
        Assert.All(reasonParts, part => Assert.Contains(part, reason, StringComparison.OrdinalIgnoreCase));
        Assert.Empty(processing.GetProperty("renditions").EnumerateArray());
    }

    [Fact]
    public Task A50000By50000PngIsRejectedByItsDimensions() =>
        AssertRejectedAsync(MediaCorpus.BlackPng(50_000, 50_000, withPixels: false), "huge.png", "image/png", "50000x50000", "limit");

    [Fact]
    public Task ASmallFileThatDecodesToHundredsOfMegabytesIsRejectedByTheMemoryCap() =>
        AssertRejectedAsync(MediaCorpus.BlackPng(9000, 9000), "bomb.png", "image/png", "128 MiB");

    // The bomb corpus: each ends in its documented status, from the file's structure and header, before decoding.
    [Theory]
    [InlineData("gif")]
    [InlineData("tiff")]
    [InlineData("apng")]
    public Task AMultiFrameBombIsRejectedByFramesTimesPixels(string format) => format switch
    {
        "gif" => AssertRejectedAsync(MediaCorpus.GifBomb(6000, 6000, 30), "bomb.gif", "image/gif", "30 frames of 6000x6000", "limit"),
        "tiff" => AssertRejectedAsync(MediaCorpus.TiffBomb(6000, 6000, 30), "bomb.tif", "image/tiff", "30 frames of 6000x6000", "limit"),
        _ => AssertRejectedAsync(MediaCorpus.ApngBomb(6000, 6000, 30), "bomb.png", "image/png", "30 frames of 6000x6000", "limit"),
    };

    [Fact]
    public Task AnAnimatedWebpBombIsRejectedAsAnAnimatedWebp() =>
        AssertRejectedAsync(MediaCorpus.WebpBomb(6000, 6000, 30), "bomb.webp", "image/webp", "Animated WebP");

    [Fact]
    public Task AnAvifHeaderClaiming100000By100000IsRejected() =>
        AssertRejectedAsync(MediaCorpus.AvifHeader(100_000, 100_000), "huge.avif", "image/avif", "100000x100000", "limit");

    [Fact]
    public async Task AnAnimationWithinTheBudgetGetsStillsOfItsFirstFrame()
    {
        var processing = await ProcessAsync(MediaCorpus.GifBomb(2000, 2000, 30), "long.gif", "image/gif");

        Assert.Equal("ready", processing.GetProperty("status").GetString());
    }

    [Fact]
    public async Task AVideoOfTenThousandTinyFramesIsProcessed()
    {
        var video = await MediaFiles.FfmpegAsync("-f lavfi -i testsrc=size=16x16:rate=100 -frames:v 10000 -c:v libx264 -preset ultrafast", "tiny.mp4");

        var processing = await ProcessAsync(video, "tiny.mp4", "video/mp4");

        Assert.True(processing.GetProperty("status").GetString() == "ready", processing.ToString());
    }

    [Fact]
    public Task ATruncatedJpegIsRejected() =>
        AssertRejectedAsync(MediaCorpus.Truncated(MediaCorpus.JpegWithGps(800, 600), 0.7), "cut.jpg", "image/jpeg", "truncated");

    [Fact]
    public Task AZeroByteFileIsRejected() => AssertRejectedAsync([], "empty.jpg", "image/jpeg", "empty");

    [Fact]
    public Task ATextFileDeclaredAsAJpegIsRejected() =>
        AssertRejectedAsync(Encoding.UTF8.GetBytes("I am not a picture, whatever my name says.\n"), "photo.jpg", "image/jpeg", "not a recognized", "image/jpeg");

    [Fact]
    public Task AnHtmlPageWithAJpegAfterItIsRejected() =>
        AssertRejectedAsync(MediaCorpus.HtmlThenJpeg(), "page.jpg", "image/jpeg", "not a recognized");

    [Fact]
    public async Task AJpegWithAPageAfterItIsServedOnlyAsAnImage()
    {
        var id = await MediaFiles.UploadAsync(_http, MediaCorpus.JpegThenHtml(), "polyglot.html", "text/html");
        var processing = MediaFiles.Processing(await MediaFiles.ProcessedAsync(_http, id));

        Assert.Equal("ready", processing.GetProperty("status").GetString());
        using var original = await _http.GetAsync($"/media/{id}/content");
        Assert.Equal("image/jpeg", original.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", original.Headers.GetValues("X-Content-Type-Options").Single());
        foreach (var rendition in processing.GetProperty("renditions").EnumerateArray())
        {
            var bytes = await _http.GetByteArrayAsync(rendition.GetProperty("url").GetString());
            Assert.Equal(-1, bytes.AsSpan().IndexOf("<script"u8));
        }
    }

    [Fact]
    public async Task PlaylistsPointingAtLocalFilesAndUrlsAreNeverFollowed()
    {
        // Anything that connects to this listener shows that ffmpeg followed a URL.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/segment.ts";
        var connections = 0;
        _ = Task.Run(async () =>
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync();
                Interlocked.Increment(ref connections);
            }
        });
        var playlist = Encoding.ASCII.GetBytes(MediaCorpus.HlsPlaylist(url));

        // 1. The playlist itself, named and declared as a video.
        await AssertRejectedAsync(playlist, "movie.mp4", "video/mp4", "not a recognized");

        // 2. The playlist behind an MP4 file type box: sniffed as MP4, then the forced MP4 demuxer finds no movie.
        byte[] boxed = [0, 0, 0, 0x18, .. "ftypisom"u8, 0, 0, 2, 0, .. "isomiso2"u8, .. playlist];
        await AssertRejectedAsync(boxed, "movie2.mp4", "video/mp4", "ffprobe");

        // 3. A real Matroska video that carries the playlist as an attachment: processed as the video it is.
        var folder = Directory.CreateTempSubdirectory("hls-").FullName;
        var attachment = Path.Combine(folder, "list.m3u8");
        await File.WriteAllBytesAsync(attachment, playlist);
        var mkv = await MediaFiles.VideoAsync("carrier.mkv", "160x120", 1,
            $"-c:v libx264 -preset ultrafast -c:a aac -attach \"{attachment}\" -metadata:s:t mimetype=application/vnd.apple.mpegurl -f matroska");
        Directory.Delete(folder, recursive: true);
        var processing = await ProcessAsync(mkv, "carrier.mkv", "video/x-matroska");
        Assert.Equal("ready", processing.GetProperty("status").GetString());
        foreach (var rendition in processing.GetProperty("renditions").EnumerateArray())
        {
            var bytes = await _http.GetByteArrayAsync(rendition.GetProperty("url").GetString());
            Assert.Equal(-1, bytes.AsSpan().IndexOf("root:"u8));
            Assert.Equal(-1, bytes.AsSpan().IndexOf("#EXTM3U"u8));
        }

        // Processing has ended: a connection ffmpeg made would be counted or still waiting to be accepted.
        Assert.Equal(0, Volatile.Read(ref connections));
        Assert.False(listener.Pending());
        listener.Stop();
    }

    [Fact]
    public async Task AnAviIsRecognizedButNotAnAcceptedType()
    {
        var avi = await MediaFiles.VideoAsync("clip.avi", "160x120", 1, "-c:v mpeg4 -c:a mp3 -f avi");

        await AssertRejectedAsync(avi, "clip.avi", "video/x-msvideo", "video/x-msvideo", "not an accepted type");
    }
}
