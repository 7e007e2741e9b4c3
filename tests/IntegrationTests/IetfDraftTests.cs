using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests;

/// <summary>The IETF "Resumable Uploads for HTTP" draft as tus-js-client speaks it (interop versions 5 and 6).</summary>
[Collection(MediaServiceCollection.Name)]
public sealed class IetfDraftTests(MediaServiceFixture fixture)
{
    private readonly HttpClient _http = fixture.Http;

    private static HttpRequestMessage Draft(HttpMethod method, string url, string version = "6")
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Add("Upload-Draft-Interop-Version", version);
        return request;
    }

    private async Task<string> CreateAsync(long length)
    {
        using var request = Draft(HttpMethod.Post, "/files/");
        request.Headers.Add("Upload-Length", length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("Upload-Complete", "?0");
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("6", Tus.Header(response, "Upload-Draft-Interop-Version"));
        return response.Headers.Location!.OriginalString;
    }

    private async Task<HttpResponseMessage> AppendAsync(string url, long offset, byte[] bytes, bool complete)
    {
        using var request = Draft(HttpMethod.Patch, url);
        request.Headers.Add("Upload-Offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("Upload-Complete", complete ? "?1" : "?0");
        request.Content = new ByteArrayContent(bytes);
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/partial-upload");
        return await _http.SendAsync(request);
    }

    [Fact]
    public async Task AnUploadInTwoAppendsReportsItsOffsetAndCompletion()
    {
        var body = Payloads.Random(3000, seed: 111);
        var url = await CreateAsync(body.Length);

        using (var first = await AppendAsync(url, 0, body[..1000], complete: false))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
            Assert.Equal("?0", Tus.Header(first, "Upload-Complete"));
        }

        using (var head = await _http.SendAsync(Draft(HttpMethod.Head, url)))
        {
            Assert.Equal(1000, Tus.Offset(head));
            Assert.Equal("?0", Tus.Header(head, "Upload-Complete"));
            Assert.True(head.Headers.CacheControl?.NoStore);
            Assert.Null(Tus.Header(head, "Tus-Resumable"));
        }

        using var last = await AppendAsync(url, 1000, body[1000..], complete: true);
        Assert.Equal("?1", Tus.Header(last, "Upload-Complete"));
        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await _http.GetByteArrayAsync($"/media/{Tus.IdOf(url)}/content")));

        using var again = await AppendAsync(url, body.Length, [1], complete: true);
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
    }

    [Fact]
    public async Task AMismatchingOffsetIsAProblemWithBothOffsets()
    {
        var url = await CreateAsync(100);

        using var response = await AppendAsync(url, 5, new byte[10], complete: false);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("https://iana.org/assignments/http-problem-types#mismatching-upload-offset", problem.GetProperty("type").GetString());
        Assert.Equal(0, problem.GetProperty("expected-offset").GetInt64());
        Assert.Equal(5, problem.GetProperty("provided-offset").GetInt64());
    }

    [Fact]
    public async Task AnOffsetRetrievalCarryingUploadHeadersGets400()
    {
        var url = await CreateAsync(10);
        using var request = Draft(HttpMethod.Head, url);
        request.Headers.Add("Upload-Offset", "0");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task AnUnknownInteropVersionIsRefused()
    {
        using var request = Draft(HttpMethod.Post, "/files/", version: "99");
        request.Headers.Add("Upload-Complete", "?0");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
    }

    [Fact]
    public async Task ACreationWithTheWholeContentIsCompleteAtOnce()
    {
        var body = Payloads.Random(2048, seed: 112);
        using var request = Draft(HttpMethod.Post, "/files/");
        request.Headers.Add("Upload-Complete", "?1");
        request.Content = new ByteArrayContent(body);

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("?1", Tus.Header(response, "Upload-Complete"));
        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await _http.GetByteArrayAsync($"/media/{Tus.IdOf(response.Headers.Location!.OriginalString)}/content")));
    }
}
