using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit;

namespace MediaService.TestRules;

/// <summary>
/// The IETF "Resumable Uploads for HTTP" draft, rule by rule, in every interop version we speak: 5 (draft-03) and 6
/// (drafts -04, -05), as tus-js-client speaks them, 7 (drafts -06 to -08) and 8 (drafts -09 to -12, what iOS 26
/// sends). The rules that differ between versions are tested per version. One rule set, two hosts: the in-process
/// layer runs it against fakes of the seams in seconds, the integration suite against PostgreSQL, s3rver and a cluster.
/// </summary>
public abstract class IetfDraftRules(HttpClient http, long maxUpload)
{
    private readonly HttpClient _http = http;
    private readonly long _maxUpload = maxUpload;


    public static TheoryData<string> Versions => new() { "5", "6", "7", "8" };

    protected static HttpRequestMessage Draft(HttpMethod method, string url, string version)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Add("Upload-Draft-Interop-Version", version);
        return request;
    }

    protected static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    protected async Task<HttpResponseMessage> CreateAsync(string version, long? length, string complete = "?0", byte[]? body = null, Action<HttpRequestMessage>? more = null)
    {
        using var request = Draft(HttpMethod.Post, "/files/", version);
        if (length is { } known)
        {
            request.Headers.Add("Upload-Length", Text(known));
        }

        request.Headers.TryAddWithoutValidation("Upload-Complete", complete);
        request.Content = new ByteArrayContent(body ?? []);
        more?.Invoke(request);
        return await _http.SendAsync(request);
    }

    protected async Task<string> CreateUrlAsync(string version, long? length)
    {
        using var response = await CreateAsync(version, length);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(version, RuleHttp.Header(response, "Upload-Draft-Interop-Version"));
        return response.Headers.Location!.OriginalString;
    }

    protected static string AppendType(string version) => version == "5" ? "application/octet-stream" : "application/partial-upload";

    protected async Task<HttpResponseMessage> AppendAsync(string version, string url, long offset, byte[] bytes, bool complete,
        string? contentType = null, long? length = null)
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

    protected async Task<HttpResponseMessage> HeadAsync(string version, string url) => await _http.SendAsync(Draft(HttpMethod.Head, url, version));

    protected async Task<byte[]> ContentAsync(string url) => await _http.GetByteArrayAsync($"/media/{RuleHttp.IdOf(url)}/content");

    /// <summary>The members of an Upload-Limit Dictionary (RFC 9651), as integers.</summary>
    protected static Dictionary<string, long> Limits(HttpResponseMessage response)
    {
        var value = RuleHttp.Header(response, "Upload-Limit");
        Assert.False(value is null, "no Upload-Limit");
        return value.Split(',').Select(m => m.Trim().Split('=')).ToDictionary(kv => kv[0], kv => long.Parse(kv[1], CultureInfo.InvariantCulture));
    }

    protected static string? AgeKey(string version) => version switch { "5" => null, "6" => "expires", _ => "max-age" };

    [Theory]
    [MemberData(nameof(Versions), MemberType = typeof(IetfDraftRules))]
    public async Task AnUploadInTwoAppendsReportsItsOffsetAndCompletion(string version)
    {
        var body = RuleHttp.Random(3000, seed: 111);
        var url = await CreateUrlAsync(version, body.Length);

        using (var first = await AppendAsync(version, url, 0, body[..1000], complete: false))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
            Assert.Equal("?0", RuleHttp.Header(first, "Upload-Complete"));
            Assert.Equal(1000, RuleHttp.Offset(first));
        }

        using (var head = await HeadAsync(version, url))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(1000, RuleHttp.Offset(head));
            Assert.Equal("?0", RuleHttp.Header(head, "Upload-Complete"));
            Assert.Equal(Text(body.Length), RuleHttp.Header(head, "Upload-Length"));
            Assert.True(head.Headers.CacheControl?.NoStore);
            Assert.Equal(version, RuleHttp.Header(head, "Upload-Draft-Interop-Version"));
            Assert.Null(RuleHttp.Header(head, "Tus-Resumable"));
        }

        using (var last = await AppendAsync(version, url, 1000, body[1000..], complete: true))
        {
            Assert.Equal(HttpStatusCode.NoContent, last.StatusCode);
            Assert.Equal("?1", RuleHttp.Header(last, "Upload-Complete"));
        }

        Assert.Equal(RuleHttp.Sha256(body), RuleHttp.Sha256(await ContentAsync(url)));
        using var done = await HeadAsync(version, url);
        Assert.Equal("?1", RuleHttp.Header(done, "Upload-Complete"));
        Assert.Equal(body.Length, RuleHttp.Offset(done));
    }

    [Theory]
    [MemberData(nameof(Versions), MemberType = typeof(IetfDraftRules))]
    public async Task ACreationWithTheWholeContentIsCompleteAtOnce(string version)
    {
        var body = RuleHttp.Random(2048, seed: 112);

        using var response = await CreateAsync(version, null, "?1", body);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("?1", RuleHttp.Header(response, "Upload-Complete"));
        Assert.Equal(body.Length, RuleHttp.Offset(response));
        Assert.Equal(RuleHttp.Sha256(body), RuleHttp.Sha256(await ContentAsync(response.Headers.Location!.OriginalString)));
    }

    [Theory]
    [MemberData(nameof(Versions), MemberType = typeof(IetfDraftRules))]
    public async Task AnEmptyCreationAnnouncesTheUploadAtOffsetZero(string version)
    {
        using var response = await CreateAsync(version, null);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.NotNull(response.Headers.Location);
        Assert.Equal(0, RuleHttp.Offset(response));
        Assert.Equal("?0", RuleHttp.Header(response, "Upload-Complete"));
    }

    [Theory]
    [MemberData(nameof(Versions), MemberType = typeof(IetfDraftRules))]
    public async Task AMismatchingOffsetAnswers409WithTheRightOffset(string version)
    {
        var url = await CreateUrlAsync(version, 100);
        using (var first = await AppendAsync(version, url, 0, new byte[10], complete: false))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        using var response = await AppendAsync(version, url, 25, new byte[10], complete: false);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(10, RuleHttp.Offset(response));
        Assert.Equal("?0", RuleHttp.Header(response, "Upload-Complete"));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (version == "5")
        {
            // Draft-03 has no problem type for it: our own.
            Assert.Equal("upload-conflict", problem.GetProperty("code").GetString());
            return;
        }

        Assert.Equal("https://iana.org/assignments/http-problem-types#mismatching-upload-offset", problem.GetProperty("type").GetString());
        Assert.Equal(10, problem.GetProperty("expected-offset").GetInt64());
        Assert.Equal(25, problem.GetProperty("provided-offset").GetInt64());
    }

    [Theory]
    [MemberData(nameof(Versions), MemberType = typeof(IetfDraftRules))]
    public async Task LimitsAreAnnouncedOnOptionsCreationAndHead(string version)
    {
        using var options = await _http.SendAsync(Draft(HttpMethod.Options, "/files/", version));
        using var created = await CreateAsync(version, 10);
        using var head = await HeadAsync(version, created.Headers.Location!.OriginalString);

        Assert.Equal(HttpStatusCode.NoContent, options.StatusCode);
        if (AgeKey(version) is not { } age)
        {
            Assert.Null(RuleHttp.Header(options, "Upload-Limit"));
            Assert.Null(RuleHttp.Header(head, "Upload-Limit"));
            return;
        }

        foreach (var response in new[] { options, created, head })
        {
            var limits = Limits(response);
            Assert.Equal(_maxUpload, limits["max-size"]);
            Assert.Equal(_maxUpload, limits["max-append-size"]);
            Assert.InRange(limits[age], 23 * 3600, 24 * 3600);
            Assert.DoesNotContain(version == "6" ? "max-age" : "expires", limits.Keys);
        }

        Assert.Equal(version == "8" ? "application/partial-upload" : null, RuleHttp.Header(options, "Accept-Patch"));
    }

    [Theory]
    [MemberData(nameof(Versions), MemberType = typeof(IetfDraftRules))]
    public async Task AnAppendOfTheWrongMediaTypeIsRefusedFromVersion7(string version)
    {
        var url = await CreateUrlAsync(version, 10);

        using var tusType = await AppendAsync(version, url, 0, new byte[4], complete: false, contentType: "application/offset+octet-stream");
        using var other = await AppendAsync(version, url, RuleHttp.Offset(tusType) ?? 0, new byte[4], complete: false, contentType: "image/jpeg");

        Assert.Equal(version is "7" or "8" ? HttpStatusCode.UnsupportedMediaType : HttpStatusCode.NoContent, tusType.StatusCode);
        Assert.Equal(version == "5" ? HttpStatusCode.NoContent : HttpStatusCode.UnsupportedMediaType, other.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Versions), MemberType = typeof(IetfDraftRules))]
    public async Task InconsistentLengthsAreRefused(string version)
    {
        // A creation whose Upload-Length and completing content disagree.
        using var creation = await CreateAsync(version, 100, "?1", new byte[50]);
        await AssertInconsistentAsync(version, creation);

        // An append that declares another length than the one recorded.
        var url = await CreateUrlAsync(version, 100);
        using var other = await AppendAsync(version, url, 0, new byte[10], complete: false, length: 90);
        await AssertInconsistentAsync(version, other);

        // A completion that ends before the recorded length.
        using var short_ = await AppendAsync(version, url, 0, new byte[10], complete: true);
        await AssertInconsistentAsync(version, short_);

        // A completion whose Upload-Length is not where its content ends.
        using var past = await AppendAsync(version, url, 0, new byte[10], complete: true, length: 100);
        await AssertInconsistentAsync(version, past);

        // None of them lost or added a byte: the upload is where it was, and completes.
        using var head = await HeadAsync(version, url);
        var offset = RuleHttp.Offset(head) ?? -1;
        Assert.InRange(offset, 0, 10);
        using var rest = await AppendAsync(version, url, offset, new byte[100 - offset], complete: true);
        Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);
        Assert.Equal(100, (await ContentAsync(url)).Length);
    }

    private static async Task AssertInconsistentAsync(string version, HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (version is "7" or "8")
        {
            Assert.Equal("https://iana.org/assignments/http-problem-types#inconsistent-upload-length", problem.GetProperty("type").GetString());
        }
        else
        {
            Assert.Equal("upload-rejected", problem.GetProperty("code").GetString());
        }
    }

    [Theory]
    [InlineData("5", "")]
    [InlineData("6", "?2")]
    [InlineData("7", "true")]
    [InlineData("8", "?1, ?0")]
    [InlineData("8", "1")]
    public async Task ACreationWithoutAValidUploadCompleteIsRefused(string version, string complete)
    {
        using var response = await CreateAsync(version, 10, complete);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("7", null)]
    [InlineData("8", "-1")]
    [InlineData("8", "1.5")]
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
        Assert.Equal(0, RuleHttp.Offset(head));
    }

    [Theory]
    [MemberData(nameof(Versions), MemberType = typeof(IetfDraftRules))]
    public async Task AnOffsetRetrievalCarryingUploadHeadersGets400(string version)
    {
        var url = await CreateUrlAsync(version, 10);
        using var request = Draft(HttpMethod.Head, url, version);
        request.Headers.Add("Upload-Offset", "0");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Versions), MemberType = typeof(IetfDraftRules))]
    public async Task OffsetRetrievalByGetIsVersion8s(string version)
    {
        var url = await CreateUrlAsync(version, 10);
        using (var append = await AppendAsync(version, url, 0, new byte[4], complete: false))
        {
            Assert.Equal(HttpStatusCode.NoContent, append.StatusCode);
        }

        using var response = await _http.SendAsync(Draft(HttpMethod.Get, url, version));

        if (version != "8")
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
            return;
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(4, RuleHttp.Offset(response));
        Assert.Equal("?0", RuleHttp.Header(response, "Upload-Complete"));
        Assert.True(response.Headers.CacheControl?.NoStore);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [MemberData(nameof(Versions), MemberType = typeof(IetfDraftRules))]
    public async Task AnUploadOfUnknownLengthEndsWithAnEmptyCompletion(string version)
    {
        var body = RuleHttp.Random(5000, seed: 113);
        var url = await CreateUrlAsync(version, null);
        using (var first = await AppendAsync(version, url, 0, body, complete: false))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        using (var head = await HeadAsync(version, url))
        {
            Assert.Null(RuleHttp.Header(head, "Upload-Length"));
            Assert.Equal(body.Length, RuleHttp.Offset(head));
        }

        using var end = await AppendAsync(version, url, body.Length, [], complete: true);

        Assert.Equal(HttpStatusCode.NoContent, end.StatusCode);
        Assert.Equal("?1", RuleHttp.Header(end, "Upload-Complete"));
        Assert.Equal(RuleHttp.Sha256(body), RuleHttp.Sha256(await ContentAsync(url)));
    }

    [Theory]
    [MemberData(nameof(Versions), MemberType = typeof(IetfDraftRules))]
    public async Task AnIncompleteAppendThatReachesTheLengthIsCompletedByAnEmptyOne(string version)
    {
        // "The offset could match the length, but the upload can still be incomplete": the last bytes sent with ?0,
        // then an empty ?1 (or the server completes it at once and says so).
        var body = RuleHttp.Random(700, seed: 117);
        var url = await CreateUrlAsync(version, body.Length);

        using var all = await AppendAsync(version, url, 0, body, complete: false);
        Assert.Equal(HttpStatusCode.NoContent, all.StatusCode);
        if (RuleHttp.Header(all, "Upload-Complete") == "?0")
        {
            using var end = await AppendAsync(version, url, body.Length, [], complete: true);
            Assert.Equal(HttpStatusCode.NoContent, end.StatusCode);
            Assert.Equal("?1", RuleHttp.Header(end, "Upload-Complete"));
        }

        Assert.Equal(RuleHttp.Sha256(body), RuleHttp.Sha256(await ContentAsync(url)));
    }

    [Theory]
    [MemberData(nameof(Versions), MemberType = typeof(IetfDraftRules))]
    public async Task ALostCompletionIsReplayedAndMoreBytesAreRefused(string version)
    {
        var body = RuleHttp.Random(1500, seed: 114);
        var url = await CreateUrlAsync(version, body.Length);
        using (var last = await AppendAsync(version, url, 0, body, complete: true))
        {
            Assert.Equal("?1", RuleHttp.Header(last, "Upload-Complete"));
        }

        // The client never saw the answer: it retrieves the offset and completes again, with nothing more.
        using var again = await AppendAsync(version, url, body.Length, [], complete: true);
        using var more = await AppendAsync(version, url, body.Length, [1], complete: true);

        Assert.Equal(HttpStatusCode.NoContent, again.StatusCode);
        Assert.Equal("?1", RuleHttp.Header(again, "Upload-Complete"));
        Assert.Equal(HttpStatusCode.BadRequest, more.StatusCode);
        Assert.Equal(RuleHttp.Sha256(body), RuleHttp.Sha256(await ContentAsync(url)));
    }

    [Theory]
    [MemberData(nameof(Versions), MemberType = typeof(IetfDraftRules))]
    public async Task ACancelledUploadIsGone(string version)
    {
        var url = await CreateUrlAsync(version, 100);
        using (var append = await AppendAsync(version, url, 0, new byte[10], complete: false))
        {
            Assert.Equal(HttpStatusCode.NoContent, append.StatusCode);
        }

        using var delete = await _http.SendAsync(Draft(HttpMethod.Delete, url, version));
        using var head = await HeadAsync(version, url);

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.True(head.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone, $"HEAD after DELETE answered {head.StatusCode}");
    }

    [Fact]
    public async Task Version8TakesTheFileNameFromContentDisposition()
    {
        using var response = await CreateAsync("8", null, "?1", RuleHttp.Random(100, seed: 116), request =>
        {
            request.Content!.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            request.Content.Headers.TryAddWithoutValidation("Content-Disposition", "inline; filename=\"plain.bin\"; filename*=UTF-8''%C3%A9t%C3%A9.bin");
        });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var item = await _http.GetFromJsonAsync<JsonElement>($"/media/{RuleHttp.IdOf(response.Headers.Location!.OriginalString)}/metadata");
        Assert.Equal("été.bin", item.GetProperty("fileName").GetString());
    }

    [Theory]
    [InlineData("99")]
    [InlineData("4")]
    [InlineData("08")]
    [InlineData("8, 7")]
    public async Task AnUnknownInteropVersionIsRefused(string version)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/files/");
        request.Headers.TryAddWithoutValidation("Upload-Draft-Interop-Version", version);
        request.Headers.Add("Upload-Complete", "?0");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("5, 6, 7, 8", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task TheDraftWinsOverTusWhenARequestNamesBoth()
    {
        using var request = Draft(HttpMethod.Post, "/files/", "8");
        request.Headers.Add("Tus-Resumable", "1.0.0");
        request.Headers.Add("Upload-Complete", "?0");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("8", RuleHttp.Header(response, "Upload-Draft-Interop-Version"));
        Assert.Null(RuleHttp.Header(response, "Tus-Resumable"));
        Assert.Equal("?0", RuleHttp.Header(response, "Upload-Complete"));
    }

    [Fact]
    public async Task OptionsWithoutAVersionAnswersTus()
    {
        using var response = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Options, "/files/"));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("1.0.0", RuleHttp.Header(response, "Tus-Version"));
        Assert.Null(RuleHttp.Header(response, "Upload-Limit"));
        Assert.Null(RuleHttp.Header(response, "Upload-Draft-Interop-Version"));
    }
}
