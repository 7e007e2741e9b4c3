using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests;

[Collection(MediaServiceCollection.Name)]
public sealed class UploadRoundTripTests(MediaServiceFixture fixture)
{
    private readonly HttpClient _http = fixture.Http;

    public static TheoryData<long> Sizes => new()
    {
        0,
        1,
        TestEnvironment.PartSize,
        TestEnvironment.PartSize + 1,
        100L * 1024 * 1024,
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task UploadedBytesComeBackIdenticalWithTheirMetadata(long size)
    {
        var body = Payloads.Random(size, seed: (int)(size % int.MaxValue));
        var sha = Payloads.Sha256(body);

        using var response = await _http.PostAsync("/media/upload?filename=clip.bin", Payloads.OctetStream(body));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = created.GetProperty("id").GetInt64();
        Assert.Equal($"/media/{id}", response.Headers.Location?.OriginalString);
        Assert.InRange(id, 1, (1L << 53) - 1);
        Assert.Equal("stored", created.GetProperty("status").GetString());
        Assert.Equal(size, created.GetProperty("size").GetInt64());
        Assert.Equal(sha, created.GetProperty("sha256").GetString());

        var metadata = await _http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata");
        Assert.Equal("clip.bin", metadata.GetProperty("fileName").GetString());
        Assert.Equal("stored", metadata.GetProperty("status").GetString());
        Assert.Equal(size, metadata.GetProperty("size").GetInt64());
        Assert.True(metadata.TryGetProperty("createdAt", out _));
        Assert.True(metadata.TryGetProperty("updatedAt", out _));

        using var content = await _http.GetAsync($"/media/{id}/content", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, content.StatusCode);
        Assert.Equal(size, content.Content.Headers.ContentLength);
        Assert.Equal($"\"{sha}\"", content.Headers.ETag?.Tag);
        await using var stream = await content.Content.ReadAsStreamAsync();
        Assert.Equal(sha, await Payloads.Sha256Async(stream));
    }

    [Fact]
    public async Task AChunkedBodyOfUnknownLengthIsStoredWhole()
    {
        var body = Payloads.Random(2 * TestEnvironment.PartSize + 12345, seed: 7);
        var content = new StreamContent(new MemoryStream(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/media/upload") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var stored = await _http.GetByteArrayAsync($"/media/{id}/content");
        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(stored));
    }

    [Fact]
    public async Task TheFileNameComesFromContentDispositionAndTheTypeFromItsExtension()
    {
        var content = Payloads.OctetStream([1, 2, 3]);
        content.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment") { FileNameStar = "été 2026.png" };

        using var response = await _http.PostAsync("/media/upload?filename=ignored.txt", content);

        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("été 2026.png", created.GetProperty("fileName").GetString());
        Assert.Equal("image/png", created.GetProperty("contentType").GetString());
    }

    [Fact]
    public async Task ADeclaredTypeIsOnlyAHintTheContentIsServedAsWhatItsBytesAre()
    {
        // Three bytes that start like a JPEG and are not one: kept as declared in the metadata, never served as an image.
        var fake = await MediaFiles.UploadAsync(_http, [0xFF, 0xD8, 0xFF], "fake.jpg", "image/jpeg");
        var rejected = await MediaFiles.ProcessedAsync(_http, fake);
        Assert.Equal("image/jpeg", rejected.GetProperty("contentType").GetString());
        Assert.Equal("rejected", MediaFiles.Processing(rejected).GetProperty("status").GetString());
        using (var download = await _http.GetAsync($"/media/{fake}/content"))
        {
            Assert.Equal("application/octet-stream", download.Content.Headers.ContentType?.MediaType);
            Assert.Equal("attachment", download.Content.Headers.ContentDisposition?.DispositionType);
            Assert.Equal("nosniff", download.Headers.GetValues("X-Content-Type-Options").Single());
        }

        // A real PNG declared as octet-stream is served as the PNG it is, inline, once processed.
        var real = await MediaFiles.UploadAsync(_http, MediaService.Tests.MediaCorpus.BlackPng(8, 8), "dot", "application/octet-stream");
        Assert.Equal("ready", MediaFiles.Processing(await MediaFiles.ProcessedAsync(_http, real)).GetProperty("status").GetString());
        using (var download = await _http.GetAsync($"/media/{real}/content"))
        {
            Assert.Equal("image/png", download.Content.Headers.ContentType?.MediaType);
            Assert.Equal("inline", download.Content.Headers.ContentDisposition?.DispositionType);
            Assert.Equal("nosniff", download.Headers.GetValues("X-Content-Type-Options").Single());
        }
    }

    [Fact]
    public async Task ContentThatIsNotMediaIsServedAsAnAttachment()
    {
        var content = new StringContent("<script>alert(1)</script>");
        content.Headers.ContentType = new MediaTypeHeaderValue("text/html");

        using var response = await _http.PostAsync("/media/upload?filename=page.html", content);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        using var download = await _http.GetAsync($"/media/{id}/content");

        Assert.Equal("attachment", download.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal("page.html", download.Content.Headers.ContentDisposition?.FileNameStar);
    }

    [Fact]
    public async Task AMultipartFormIsRefusedWith415AndNothingIsCreated()
    {
        using var form = new MultipartFormDataContent { { new ByteArrayContent([1, 2, 3]), "file", "a.bin" } };

        using var response = await _http.PostAsync("/media/upload", form);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("unsupported-media-type", problem.GetProperty("code").GetString());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ABodyDeclaredOverTheLimitIsRefusedWith413BeforeItIsSent()
    {
        // Expect: 100-continue makes the client wait for the server's verdict before sending the body.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/media/upload")
        {
            Content = new NeverSentContent(129L * 1024 * 1024),
        };
        request.Headers.ExpectContinue = true;

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("upload-too-large", problem.GetProperty("code").GetString());
        Assert.Equal(128L * 1024 * 1024, problem.GetProperty("maxBytes").GetInt64());
    }

    [Theory]
    [InlineData("123")]
    [InlineData("0")]
    [InlineData("9007199254740992")]
    public async Task AnUnknownIdAnswers404ProblemDetails(string id)
    {
        foreach (var path in new[] { $"/media/{id}", $"/media/{id}/metadata", $"/media/{id}/content" })
        {
            using var response = await _http.GetAsync(path);

            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("media-not-found", problem.GetProperty("code").GetString());
        }
    }

    /// <summary>Content that declares a length and fails the test if the client ever sends it.</summary>
    private sealed class NeverSentContent : HttpContent
    {
        public NeverSentContent(long length)
        {
            Headers.ContentLength = length;
            Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            throw new InvalidOperationException("The body was requested although the server refused it.");

        protected override bool TryComputeLength(out long length)
        {
            length = Headers.ContentLength ?? 0;
            return true;
        }
    }
}
