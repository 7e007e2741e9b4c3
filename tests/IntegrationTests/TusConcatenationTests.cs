using System.Net;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests;

[Collection(MediaServiceCollection.Name)]
public sealed class TusConcatenationTests(MediaServiceFixture fixture)
{
    private const int Mib = 1024 * 1024;
    private readonly HttpClient _http = fixture.Http;

    [Fact]
    public async Task AFinalUploadIsTheConcatenationOfItsFinishedPartials()
    {
        var pieces = new[] { Payloads.Random(6 * Mib + 1, seed: 81), Payloads.Random(3, seed: 82), Payloads.Random(2 * Mib, seed: 83) };
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

        using var final = await CreateFinalAsync(string.Join(' ', urls.Select((u, i) => i == 1 ? new Uri(fixture.Frontend.Address, u).ToString() : u)));
        Assert.Equal(HttpStatusCode.Created, final.StatusCode);
        var finalUrl = final.Headers.Location!.OriginalString;

        using var head = await Tus.HeadAsync(_http, finalUrl);
        var whole = pieces.SelectMany(p => p).ToArray();
        Assert.Equal(whole.Length, Tus.Offset(head));
        Assert.Equal(whole.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Tus.Header(head, "Upload-Length"));
        Assert.Equal("final;" + string.Join(' ', urls), Tus.Header(head, "Upload-Concat"));
        Assert.Equal(Payloads.Sha256(whole), Payloads.Sha256(await _http.GetByteArrayAsync($"/media/{Tus.IdOf(finalUrl)}/content")));

        using var patchFinal = await Tus.PatchAsync(_http, finalUrl, whole.Length, Tus.Chunk([1]));
        Assert.Equal(HttpStatusCode.Forbidden, patchFinal.StatusCode);
    }

    [Fact]
    public async Task AFinalDeclaredBeforeItsPartialsFinishIsAssembledOnceTheyHave()
    {
        var first = Payloads.Random(Mib, seed: 91);
        var second = Payloads.Random(Mib + 9, seed: 92);
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
        Assert.Equal(Payloads.Sha256([.. first, .. second]), Payloads.Sha256(await _http.GetByteArrayAsync($"/media/{Tus.IdOf(finalUrl)}/content")));
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

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task AFinalMayNameOnlyPartialUploadsAndCarriesNoLength()
    {
        var ordinary = await Tus.CreateUrlAsync(_http, 5);
        using (var notPartial = await CreateFinalAsync(ordinary))
        {
            Assert.Equal(HttpStatusCode.BadRequest, notPartial.StatusCode);
        }

        var partial = await CreatePartialAsync(5);
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
        request.Headers.Add("Upload-Length", length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return response.Headers.Location!.OriginalString;
    }

    private Task<HttpResponseMessage> CreateFinalAsync(string urls)
    {
        var request = Tus.Request(HttpMethod.Post, "/files/");
        request.Headers.TryAddWithoutValidation("Upload-Concat", $"final;{urls}");
        return _http.SendAsync(request);
    }
}
