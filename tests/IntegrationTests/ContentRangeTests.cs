using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests;

[Collection(MediaServiceCollection.Name)]
public sealed class ContentRangeTests(MediaServiceFixture fixture) : IAsyncLifetime
{
    private const int Size = 1000;
    private readonly HttpClient _http = fixture.Http;
    private readonly byte[] _body = Payloads.Random(Size, seed: 42);
    private long _id;

    public async Task InitializeAsync()
    {
        using var response = await _http.PostAsync("/media/upload?filename=r.bin", Payloads.OctetStream(_body));
        response.EnsureSuccessStatusCode();
        _id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData("bytes=0-0", 0, 0)]
    [InlineData("bytes=100-199", 100, 199)]
    [InlineData("bytes=990-", 990, 999)]
    [InlineData("bytes=-10", 990, 999)]
    [InlineData("bytes=-5000", 0, 999)]
    [InlineData("bytes=900-5000", 900, 999)]
    public async Task ASingleRangeAnswers206WithExactlyThoseBytes(string range, int from, int to)
    {
        using var response = await GetAsync(range);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes {from}-{to}/{Size}", response.Content.Headers.ContentRange?.ToString());
        Assert.Equal(to - from + 1, response.Content.Headers.ContentLength);
        Assert.Equal(_body[from..(to + 1)], await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("bytes=1000-")]
    [InlineData("bytes=5000-6000")]
    [InlineData("bytes=-0")]
    public async Task ARangeOutsideTheContentAnswers416WithTheLength(string range)
    {
        using var response = await GetAsync(range);

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal($"bytes */{Size}", response.Content.Headers.ContentRange?.ToString());
    }

    [Theory]
    [InlineData("bytes=5-1")]
    [InlineData("bytes=abc")]
    [InlineData("pages=1-2")]
    [InlineData("bytes=0-1,5-6")]
    public async Task AnInvalidRangeIsIgnoredAndTheWholeContentSent(string range)
    {
        using var response = await GetAsync(range);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(_body, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task AnEmptyItemHasNoSatisfiableRange()
    {
        using var created = await _http.PostAsync("/media/upload", Payloads.OctetStream([]));
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/media/{id}/content");
        request.Headers.TryAddWithoutValidation("Range", "bytes=0-");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal("bytes */0", response.Content.Headers.ContentRange?.ToString());
    }

    [Fact]
    public async Task AMatchingIfNoneMatchAnswers304()
    {
        using var first = await _http.GetAsync($"/media/{_id}/content");
        var etag = first.Headers.ETag!;
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/media/{_id}/content");
        request.Headers.IfNoneMatch.Add(etag);

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Equal(etag, response.Headers.ETag);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task AStaleIfRangeGetsTheWholeContent()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/media/{_id}/content");
        request.Headers.TryAddWithoutValidation("Range", "bytes=0-9");
        request.Headers.TryAddWithoutValidation("If-Range", "\"not-the-etag\"");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Size, (await response.Content.ReadAsByteArrayAsync()).Length);
    }

    [Fact]
    public async Task HeadAnswersTheHeadersOfTheContentWithoutTheBody()
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, $"/media/{_id}/content");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Size, response.Content.Headers.ContentLength);
        Assert.Equal("bytes", response.Headers.AcceptRanges.Single());
    }

    private Task<HttpResponseMessage> GetAsync(string range)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/media/{_id}/content");
        request.Headers.TryAddWithoutValidation("Range", range);
        return _http.SendAsync(request);
    }
}
