using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.InProcessTests.Host;

namespace MediaService.InProcessTests;

/// <summary>The IETF resumable-upload draft in the interop versions we speak (5 to 8); 104 is not observable through
/// TestServer and is left to the real-stack tests.</summary>
public sealed class IetfDraftTests(InProcessHost host) : IClassFixture<InProcessHost>
{
    private readonly HttpClient _http = host.Http;

    public static TheoryData<string> Versions => new() { "5", "6", "7", "8" };

    private static HttpRequestMessage Draft(HttpMethod method, string url, string version)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Add("Upload-Draft-Interop-Version", version);
        return request;
    }

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string AppendType(string version) => version == "5" ? "application/octet-stream" : "application/partial-upload";

    private async Task<HttpResponseMessage> CreateAsync(string version, long? length, string complete = "?0", byte[]? body = null)
    {
        using var request = Draft(HttpMethod.Post, "/files/", version);
        if (length is { } known)
        {
            request.Headers.Add("Upload-Length", Text(known));
        }

        request.Headers.TryAddWithoutValidation("Upload-Complete", complete);
        request.Content = new ByteArrayContent(body ?? []);
        return await _http.SendAsync(request);
    }

    private async Task<string> CreateUrlAsync(string version, long? length)
    {
        using var response = await CreateAsync(version, length);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(version, Tus.Header(response, "Upload-Draft-Interop-Version"));
        return response.Headers.Location!.OriginalString;
    }

    private async Task<HttpResponseMessage> AppendAsync(string version, string url, long offset, byte[] bytes, bool complete, string? contentType = null, long? length = null)
    {
        using var request = Draft(HttpMethod.Patch, url, version);
        request.Headers.Add("Upload-Offset", Text(offset));
        request.Headers.Add("Upload-Complete", complete ? "?1" : "?0");
        if (length is { } declared)
        {
            request.Headers.Add("Upload-Length", Text(declared));
        }

        request.Content = new ByteArrayContent(bytes);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType ?? AppendType(version));
        return await _http.SendAsync(request);
    }

    private async Task<HttpResponseMessage> HeadAsync(string version, string url)
    {
        using var request = Draft(HttpMethod.Head, url, version);
        return await _http.SendAsync(request);
    }

    private async Task<byte[]> ContentAsync(string url) => await _http.GetByteArrayAsync($"/media/{Tus.IdOf(url)}/content");

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task AnUploadInTwoAppendsReportsItsOffsetAndCompletion(string version)
    {
        var body = Tus.Bytes(3000, seed: 111);
        var url = await CreateUrlAsync(version, body.Length);

        using (var first = await AppendAsync(version, url, 0, body[..1000], complete: false))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
            Assert.Equal("?0", Tus.Header(first, "Upload-Complete"));
            Assert.Equal(1000, Tus.Offset(first));
        }

        using (var head = await HeadAsync(version, url))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(1000, Tus.Offset(head));
            Assert.Equal("?0", Tus.Header(head, "Upload-Complete"));
            Assert.Equal(Text(body.Length), Tus.Header(head, "Upload-Length"));
            Assert.True(head.Headers.CacheControl?.NoStore);
            Assert.Equal(version, Tus.Header(head, "Upload-Draft-Interop-Version"));
            Assert.Null(Tus.Header(head, "Tus-Resumable"));
        }

        using (var last = await AppendAsync(version, url, 1000, body[1000..], complete: true))
        {
            Assert.Equal(HttpStatusCode.NoContent, last.StatusCode);
            Assert.Equal("?1", Tus.Header(last, "Upload-Complete"));
        }

        Assert.Equal(body, await ContentAsync(url));
        using var done = await HeadAsync(version, url);
        Assert.Equal("?1", Tus.Header(done, "Upload-Complete"));
        Assert.Equal(body.Length, Tus.Offset(done));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task ACreationWithTheWholeContentAndUploadCompleteIsCompleteAtOnce(string version)
    {
        var body = Tus.Bytes(2048, seed: 112);

        using var response = await CreateAsync(version, null, "?1", body);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("?1", Tus.Header(response, "Upload-Complete"));
        Assert.Equal(body.Length, Tus.Offset(response));
        Assert.Equal(body, await ContentAsync(response.Headers.Location!.OriginalString));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task AnEmptyCreationWithUploadIncompleteAnnouncesTheUploadAtOffsetZero(string version)
    {
        using var response = await CreateAsync(version, null);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.NotNull(response.Headers.Location);
        Assert.Equal(0, Tus.Offset(response));
        Assert.Equal("?0", Tus.Header(response, "Upload-Complete"));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task AMismatchingOffsetAnswers409WithTheRightOffset(string version)
    {
        var url = await CreateUrlAsync(version, 100);
        using (var first = await AppendAsync(version, url, 0, new byte[10], complete: false))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        using var response = await AppendAsync(version, url, 25, new byte[10], complete: false);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(10, Tus.Offset(response));
        Assert.Equal("?0", Tus.Header(response, "Upload-Complete"));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (version == "5")
        {
            Assert.Equal("upload-conflict", problem.GetProperty("code").GetString());
            return;
        }

        Assert.Equal("https://iana.org/assignments/http-problem-types#mismatching-upload-offset", problem.GetProperty("type").GetString());
        Assert.Equal(10, problem.GetProperty("expected-offset").GetInt64());
        Assert.Equal(25, problem.GetProperty("provided-offset").GetInt64());
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task AnAppendOfTheWrongMediaTypeIsRefusedFromVersion7(string version)
    {
        var url = await CreateUrlAsync(version, 10);

        using var tusType = await AppendAsync(version, url, 0, new byte[4], complete: false, contentType: "application/offset+octet-stream");
        using var other = await AppendAsync(version, url, Tus.Offset(tusType) ?? 0, new byte[4], complete: false, contentType: "image/jpeg");

        Assert.Equal(version is "7" or "8" ? HttpStatusCode.UnsupportedMediaType : HttpStatusCode.NoContent, tusType.StatusCode);
        Assert.Equal(version == "5" ? HttpStatusCode.NoContent : HttpStatusCode.UnsupportedMediaType, other.StatusCode);
    }

    [Theory]
    [InlineData("5", "")]
    [InlineData("6", "?2")]
    [InlineData("7", "true")]
    [InlineData("8", "?1, ?0")]
    public async Task ACreationWithoutAValidUploadCompleteIsRefused(string version, string complete)
    {
        using var response = await CreateAsync(version, 10, complete);

        await Tus.AssertProblemAsync(response, 400, "upload-rejected");
        Assert.Null(response.Headers.Location);
    }

    [Theory]
    [InlineData("7", null)]
    [InlineData("8", "-1")]
    [InlineData("8", "abc")]
    public async Task AnAppendWithoutAValidUploadOffsetIsRefused(string version, string? offset)
    {
        var url = await CreateUrlAsync(version, 10);
        using var request = Draft(HttpMethod.Patch, url, version);
        if (offset is not null)
        {
            request.Headers.TryAddWithoutValidation("Upload-Offset", offset);
        }

        request.Headers.Add("Upload-Complete", "?0");
        request.Content = new ByteArrayContent(new byte[4]);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var head = await HeadAsync(version, url);
        Assert.Equal(0, Tus.Offset(head));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task OffsetRetrievalByGetIsVersion8sOnly(string version)
    {
        var url = await CreateUrlAsync(version, 10);
        using (var append = await AppendAsync(version, url, 0, new byte[4], complete: false))
        {
            Assert.Equal(HttpStatusCode.NoContent, append.StatusCode);
        }

        using var request = Draft(HttpMethod.Get, url, version);
        using var response = await _http.SendAsync(request);

        if (version != "8")
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
            return;
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(4, Tus.Offset(response));
        Assert.Equal("?0", Tus.Header(response, "Upload-Complete"));
        Assert.True(response.Headers.CacheControl?.NoStore);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task AnUploadOfUnknownLengthEndsWithAnEmptyCompletion(string version)
    {
        var body = Tus.Bytes(5000, seed: 113);
        var url = await CreateUrlAsync(version, null);
        using (var first = await AppendAsync(version, url, 0, body, complete: false))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        using (var head = await HeadAsync(version, url))
        {
            Assert.Null(Tus.Header(head, "Upload-Length"));
            Assert.Equal(body.Length, Tus.Offset(head));
        }

        using var end = await AppendAsync(version, url, body.Length, [], complete: true);

        Assert.Equal(HttpStatusCode.NoContent, end.StatusCode);
        Assert.Equal("?1", Tus.Header(end, "Upload-Complete"));
        Assert.Equal(body, await ContentAsync(url));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task ALostCompletionIsReplayedAndMoreBytesAreRefused(string version)
    {
        var body = Tus.Bytes(1500, seed: 114);
        var url = await CreateUrlAsync(version, body.Length);
        using (var last = await AppendAsync(version, url, 0, body, complete: true))
        {
            Assert.Equal("?1", Tus.Header(last, "Upload-Complete"));
        }

        using var again = await AppendAsync(version, url, body.Length, [], complete: true);
        using var more = await AppendAsync(version, url, body.Length, [1], complete: true);

        Assert.Equal(HttpStatusCode.NoContent, again.StatusCode);
        Assert.Equal("?1", Tus.Header(again, "Upload-Complete"));
        Assert.Equal(HttpStatusCode.BadRequest, more.StatusCode);
        Assert.Equal(body, await ContentAsync(url));
    }

    [Theory]
    [InlineData("7")]
    [InlineData("8")]
    public async Task ACreationWhoseLengthAndCompletingContentDisagreeIsInconsistent(string version)
    {
        using var creation = await CreateAsync(version, 100, "?1", new byte[50]);

        Assert.Equal(HttpStatusCode.BadRequest, creation.StatusCode);
        var problem = await creation.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("https://iana.org/assignments/http-problem-types#inconsistent-upload-length", problem.GetProperty("type").GetString());
        Assert.Null(creation.Headers.Location);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task ACancelledUploadIsGone(string version)
    {
        var url = await CreateUrlAsync(version, 100);
        using (var append = await AppendAsync(version, url, 0, new byte[10], complete: false))
        {
            Assert.Equal(HttpStatusCode.NoContent, append.StatusCode);
        }

        using var deleteRequest = Draft(HttpMethod.Delete, url, version);
        using var delete = await _http.SendAsync(deleteRequest);
        using var head = await HeadAsync(version, url);

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal(HttpStatusCode.Gone, head.StatusCode);
    }

    [Theory]
    [InlineData("4")]
    [InlineData("9")]
    [InlineData("x")]
    public async Task AnUnknownInteropVersionIsRefusedWith412(string version)
    {
        using var response = await CreateAsync(version, 10);

        await Tus.AssertProblemAsync(response, 412, "upload-rejected");
        Assert.Null(response.Headers.Location);
    }
}
