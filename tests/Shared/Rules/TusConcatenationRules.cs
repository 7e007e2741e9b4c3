using System.Net;
using Xunit;

namespace MediaService.TestRules;

/// <summary>tus concatenation, rule by rule: a final upload is its finished partials, in order, however it names them; it
/// takes no PATCH and names only partial uploads of ours, once each. Run by the in-process layer and the real stack.</summary>
public abstract class TusConcatenationRules(HttpClient http)
{
    private const int Mib = 1024 * 1024;
    private readonly HttpClient _http = http;

    [Fact]
    public async Task AFinalUploadIsTheConcatenationOfItsFinishedPartials()
    {
        var pieces = new[] { RuleHttp.Random(6 * Mib + 1, seed: 81), RuleHttp.Random(3, seed: 82), RuleHttp.Random(2 * Mib, seed: 83) };
        var urls = new List<string>();
        foreach (var piece in pieces)
        {
            var url = await CreatePartialAsync(piece.Length);
            using var patch = await RuleHttp.TusPatchAsync(_http, url, 0, RuleHttp.Chunk(piece));
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
            urls.Add(url);
        }

        using var partialHead = await RuleHttp.TusHeadAsync(_http, urls[0]);
        Assert.Equal("partial", RuleHttp.Header(partialHead, "Upload-Concat"));

        using var final = await CreateFinalAsync(string.Join(' ', urls.Select((u, i) => i == 1 ? new Uri(_http.BaseAddress!, u).ToString() : u)));
        Assert.Equal(HttpStatusCode.Created, final.StatusCode);
        var finalUrl = final.Headers.Location!.OriginalString;

        using var head = await RuleHttp.TusHeadAsync(_http, finalUrl);
        var whole = pieces.SelectMany(p => p).ToArray();
        Assert.Equal(whole.Length, RuleHttp.Offset(head));
        Assert.Equal(whole.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), RuleHttp.Header(head, "Upload-Length"));
        Assert.Equal("final;" + string.Join(' ', urls), RuleHttp.Header(head, "Upload-Concat"));
        Assert.Equal(RuleHttp.Sha256(whole), RuleHttp.Sha256(await _http.GetByteArrayAsync($"/media/{RuleHttp.IdOf(finalUrl)}/content")));

        using var patchFinal = await RuleHttp.TusPatchAsync(_http, finalUrl, whole.Length, RuleHttp.Chunk([1]));
        Assert.Equal(HttpStatusCode.Forbidden, patchFinal.StatusCode);
    }

    [Fact]
    public async Task AFinalDeclaredBeforeItsPartialsFinishIsAssembledOnceTheyHave()
    {
        var first = RuleHttp.Random(Mib, seed: 91);
        var second = RuleHttp.Random(Mib + 9, seed: 92);
        var firstUrl = await CreatePartialAsync(first.Length);
        var secondUrl = await CreatePartialAsync(second.Length);
        using (var patch = await RuleHttp.TusPatchAsync(_http, firstUrl, 0, RuleHttp.Chunk(first)))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        using var final = await CreateFinalAsync($"{firstUrl} {secondUrl}");
        Assert.Equal(HttpStatusCode.Created, final.StatusCode);
        var finalUrl = final.Headers.Location!.OriginalString;
        using (var unfinished = await RuleHttp.TusHeadAsync(_http, finalUrl))
        {
            Assert.Equal(HttpStatusCode.OK, unfinished.StatusCode);
            Assert.Null(RuleHttp.Offset(unfinished));
        }

        using (var patch = await RuleHttp.TusPatchAsync(_http, secondUrl, 0, RuleHttp.Chunk(second)))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        using var head = await RuleHttp.TusHeadAsync(_http, finalUrl);
        Assert.Equal(first.Length + second.Length, RuleHttp.Offset(head));
        Assert.Equal(RuleHttp.Sha256([.. first, .. second]), RuleHttp.Sha256(await _http.GetByteArrayAsync($"/media/{RuleHttp.IdOf(finalUrl)}/content")));
    }

    [Theory]
    [InlineData("final;")]
    [InlineData("final;/files/123")]
    [InlineData("final;/elsewhere/1")]
    [InlineData("whole")]
    public async Task AFinalThatNamesNoPartialUploadOfOursGets400(string header)
    {
        using var request = RuleHttp.TusRequest(HttpMethod.Post, "/files/");
        request.Headers.TryAddWithoutValidation("Upload-Concat", header);

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task AFinalMayNameOnlyPartialUploadsOnceEachAndCarriesNoLength()
    {
        var ordinary = await RuleHttp.TusCreateUrlAsync(_http, 5);
        using (var notPartial = await CreateFinalAsync(ordinary))
        {
            Assert.Equal(HttpStatusCode.BadRequest, notPartial.StatusCode);
        }

        var partial = await CreatePartialAsync(5);
        using (var twice = await CreateFinalAsync($"{partial} {partial}"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, twice.StatusCode);
        }

        using var request = RuleHttp.TusRequest(HttpMethod.Post, "/files/");
        request.Headers.Add("Upload-Concat", $"final;{partial}");
        request.Headers.Add("Upload-Length", "5");
        using var withLength = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, withLength.StatusCode);
    }

    protected async Task<string> CreatePartialAsync(long length)
    {
        using var request = RuleHttp.TusRequest(HttpMethod.Post, "/files/");
        request.Headers.Add("Upload-Concat", "partial");
        request.Headers.Add("Upload-Length", length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return response.Headers.Location!.OriginalString;
    }

    protected Task<HttpResponseMessage> CreateFinalAsync(string urls)
    {
        var request = RuleHttp.TusRequest(HttpMethod.Post, "/files/");
        request.Headers.TryAddWithoutValidation("Upload-Concat", $"final;{urls}");
        return _http.SendAsync(request);
    }
}
