using System.Globalization;
using System.Net;
using MediaService.InProcessTests.Host;

namespace MediaService.InProcessTests;

/// <summary>tus concatenation and concatenation-unfinished.</summary>
public sealed class TusConcatenationTests(InProcessHost host) : IClassFixture<InProcessHost>
{
    private const int Mib = Tus.Mib;
    private readonly HttpClient _http = host.Http;

    [Fact]
    public async Task AFinalUploadIsTheConcatenationOfItsFinishedPartialsAndTakesNoPatch()
    {
        var pieces = new[] { Tus.Bytes(6 * Mib + 1, seed: 81), Tus.Bytes(3, seed: 82), Tus.Bytes(2 * Mib, seed: 83) };
        var urls = new List<string>();
        foreach (var piece in pieces)
        {
            var url = await CreatePartialAsync(piece.Length);
            using var patch = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(piece));
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
            urls.Add(url);
        }

        using var partialHead = await Tus.HeadAsync(_http, urls[0]);
        Assert.Equal("partial", Tus.Header(partialHead, "Upload-Concat"));

        using var final = await CreateFinalAsync(string.Join(' ', urls.Select((u, i) => i == 1 ? new Uri(_http.BaseAddress!, u).ToString() : u)));
        Assert.Equal(HttpStatusCode.Created, final.StatusCode);
        var finalUrl = final.Headers.Location!.OriginalString;

        var whole = pieces.SelectMany(p => p).ToArray();
        using var head = await Tus.HeadAsync(_http, finalUrl);
        Assert.Equal(whole.Length, Tus.Offset(head));
        Assert.Equal(whole.Length.ToString(CultureInfo.InvariantCulture), Tus.Header(head, "Upload-Length"));
        Assert.Equal("final;" + string.Join(' ', urls), Tus.Header(head, "Upload-Concat"));
        await Assertions.StoredAsync(host, finalUrl, whole);

        using var patchFinal = await Tus.PatchAsync(_http, finalUrl, whole.Length, Tus.Chunk([1]));
        Assert.Equal(HttpStatusCode.Forbidden, patchFinal.StatusCode);
    }

    [Fact]
    public async Task AFinalDeclaredBeforeItsPartialsFinishIsAssembledOnceTheyHave()
    {
        var first = Tus.Bytes(Mib, seed: 91);
        var second = Tus.Bytes(Mib + 9, seed: 92);
        var firstUrl = await CreatePartialAsync(first.Length);
        var secondUrl = await CreatePartialAsync(second.Length);
        using (var patch = await Tus.PatchAsync(_http, firstUrl, 0, Tus.Chunk(first)))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        using var final = await CreateFinalAsync($"{firstUrl} {secondUrl}");
        Assert.Equal(HttpStatusCode.Created, final.StatusCode);
        var finalUrl = final.Headers.Location!.OriginalString;
        using (var unfinished = await Tus.HeadAsync(_http, finalUrl))
        {
            Assert.Equal(HttpStatusCode.OK, unfinished.StatusCode);
            Assert.Null(Tus.Offset(unfinished));
        }

        using (var patch = await Tus.PatchAsync(_http, secondUrl, 0, Tus.Chunk(second)))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        using var head = await Tus.HeadAsync(_http, finalUrl);
        Assert.Equal(first.Length + second.Length, Tus.Offset(head));
        await Assertions.StoredAsync(host, finalUrl, [.. first, .. second]);
    }

    [Theory]
    [InlineData("final;")]
    [InlineData("final;/files/123")]
    [InlineData("final;/elsewhere/1")]
    [InlineData("whole")]
    public async Task AFinalThatNamesNoPartialUploadOfOursGets400(string header)
    {
        using var request = Tus.Request(HttpMethod.Post, "/files/");
        request.Headers.TryAddWithoutValidation("Upload-Concat", header);

        using var response = await _http.SendAsync(request);

        await Tus.AssertProblemAsync(response, 400, "upload-rejected");
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task AFinalMayNameOnlyPartialUploadsOnceEachAndCarriesNoLength()
    {
        var ordinary = await Tus.CreateUrlAsync(_http, 5);
        using (var notPartial = await CreateFinalAsync(ordinary))
        {
            Assert.Equal(HttpStatusCode.BadRequest, notPartial.StatusCode);
        }

        var partial = await CreatePartialAsync(5);
        using (var twice = await CreateFinalAsync($"{partial} {partial}"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, twice.StatusCode);
        }

        using var request = Tus.Request(HttpMethod.Post, "/files/");
        request.Headers.Add("Upload-Concat", $"final;{partial}");
        request.Headers.Add("Upload-Length", "5");
        using var withLength = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, withLength.StatusCode);
    }

    private async Task<string> CreatePartialAsync(long length)
    {
        using var request = Tus.Request(HttpMethod.Post, "/files/");
        request.Headers.Add("Upload-Concat", "partial");
        request.Headers.Add("Upload-Length", length.ToString(CultureInfo.InvariantCulture));
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return response.Headers.Location!.OriginalString;
    }

    private async Task<HttpResponseMessage> CreateFinalAsync(string urls)
    {
        using var request = Tus.Request(HttpMethod.Post, "/files/");
        request.Headers.TryAddWithoutValidation("Upload-Concat", $"final;{urls}");
        return await _http.SendAsync(request);
    }
}
