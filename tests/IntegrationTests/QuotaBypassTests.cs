using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests;

/// <summary>
/// The ways past the quota a review found, each now closed: bodies without a length are capped while they are written
/// (one-shot uploads, tus deferred lengths, IETF-draft uploads), and a concatenation's final counts its summed length
/// and lists each partial once. The assembly runs under the owner's bandwidth limit and resumes when cut off.
/// </summary>
[Collection(MediaServiceCollection.Name)]
public sealed class QuotaBypassTests(MediaServiceFixture fixture)
{
    private const int Mib = 1024 * 1024;

    private async Task<(FrontendFactory Frontend, HttpClient Http)> OwnerWithQuotaAsync(long maxStoredBytes, Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?> { ["Quotas:MaxStoredBytes"] = maxStoredBytes.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        var frontend = new FrontendFactory(fixture.Cluster.Options.ClusterId, fixture.ServiceId, settings);
        using var admin = frontend.CreateHttpClient(frontend.AdminKey);
        using var created = await admin.PostAsJsonAsync("/admin/keys", new { owner = $"bypass-{Guid.NewGuid():N}"[..24] });
        return (frontend, frontend.CreateHttpClient((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()));
    }

    private static async Task AssertQuotaExceededAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("quota-exceeded", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }

    // A body sent chunked: no Content-Length, so nothing is known of its size before it is read.
    private static StreamContent Chunked(byte[] bytes)
    {
        var content = new StreamContent(new MemoryStream(bytes));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    private static async Task<long> UsedBytesAsync(HttpClient http)
    {
        // One byte over any room: the refusal names what is used.
        using var probe = await http.PostAsync("/media/upload", Payloads.OctetStream(new byte[1]));
        if (probe.StatusCode == HttpStatusCode.Created)
        {
            return -1;
        }

        return (await probe.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("usedBytes").GetInt64();
    }

    [Fact]
    public async Task AOneShotUploadWithoutALengthIsCappedAtTheRoom()
    {
        var (frontend, http) = await OwnerWithQuotaAsync(10_000);
        await using var _ = frontend;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/media/upload") { Content = Chunked(new byte[10_001]) };
        request.Headers.TransferEncodingChunked = true;

        using var response = await http.SendAsync(request);

        await AssertQuotaExceededAsync(response);
        using var fits = new HttpRequestMessage(HttpMethod.Post, "/media/upload") { Content = Chunked(new byte[10_000]) };
        fits.Headers.TransferEncodingChunked = true;
        Assert.Equal(HttpStatusCode.Created, (await http.SendAsync(fits)).StatusCode);
    }

    [Fact]
    public async Task ADeferredLengthUploadIsCappedWhileItsBytesAreWritten()
    {
        var (frontend, http) = await OwnerWithQuotaAsync(10_000);
        await using var _ = frontend;
        var url = await Tus.CreateUrlAsync(http, null);
        using (var first = await Tus.PatchAsync(http, url, 0, Tus.Chunk(new byte[6000])))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        // Declared and chunked bodies past the room alike; what was stored before stays.
        using (var declared = await Tus.PatchAsync(http, url, 6000, Tus.Chunk(new byte[4001])))
        {
            await AssertQuotaExceededAsync(declared);
        }

        var request = Tus.Request(HttpMethod.Patch, url);
        request.Headers.Add("Upload-Offset", "6000");
        request.Content = Chunked(new byte[5000]);
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/offset+octet-stream");
        request.Headers.TransferEncodingChunked = true;
        using (var chunked = await http.SendAsync(request))
        {
            await AssertQuotaExceededAsync(chunked);
        }

        using var head = await Tus.HeadAsync(http, url);
        Assert.Equal(6000, Tus.Offset(head));
        using var rest = await Tus.PatchAsync(http, url, 6000, Tus.Chunk(new byte[4000]), length: 10_000);
        Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);
    }

    [Fact]
    public async Task AnIetfDraftUploadWithoutALengthIsCapped()
    {
        var (frontend, http) = await OwnerWithQuotaAsync(10_000);
        await using var _ = frontend;
        // Created without a length (Upload-Complete: ?0, a chunked body): only the writing can count the bytes.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/files/") { Content = Chunked(new byte[10_001]) };
        request.Headers.Add("Upload-Draft-Interop-Version", "6");
        request.Headers.Add("Upload-Complete", "?0");
        request.Headers.TransferEncodingChunked = true;

        using var response = await http.SendAsync(request);

        await AssertQuotaExceededAsync(response);
    }

    [Fact]
    public async Task AFinalCountsItsSummedLengthAndListsEachPartialOnce()
    {
        var (frontend, http) = await OwnerWithQuotaAsync(10_000);
        await using var _ = frontend;
        async Task<string> PartialAsync(int length)
        {
            using var create = Tus.Request(HttpMethod.Post, "/files/");
            create.Headers.Add("Upload-Concat", "partial");
            create.Headers.Add("Upload-Length", length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var created = await http.SendAsync(create);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var url = created.Headers.Location!.OriginalString;
            using var patch = await Tus.PatchAsync(http, url, 0, Tus.Chunk(new byte[length]));
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
            return url;
        }

        async Task<HttpResponseMessage> FinalAsync(params string[] urls)
        {
            using var request = Tus.Request(HttpMethod.Post, "/files/");
            request.Headers.Add("Upload-Concat", "final;" + string.Join(' ', urls));
            return await http.SendAsync(request);
        }

        var a = await PartialAsync(3000);
        var b = await PartialAsync(2000);

        // One partial many times: refused outright, before anything is copied.
        using (var repeated = await FinalAsync(Enumerable.Repeat(a, 1000).ToArray()))
        {
            Assert.Equal(HttpStatusCode.BadRequest, repeated.StatusCode);
            Assert.Contains("listed 1000 times", await repeated.Content.ReadAsStringAsync());
        }

        // 5000 stored; a final of 5000 more fits exactly, another does not.
        using (var fits = await FinalAsync(a, b))
        {
            Assert.Equal(HttpStatusCode.Created, fits.StatusCode);
        }

        using var over = await FinalAsync(a, b);
        await AssertQuotaExceededAsync(over);
        Assert.Equal(10_000, await UsedBytesAsync(http));
    }

    [Fact]
    public async Task AFinalOfUnknownLengthIsRefusedAtEveryHeadNotOnlyTheFirst()
    {
        var (frontend, http) = await OwnerWithQuotaAsync(10_000);
        await using var _ = frontend;
        using var create = Tus.Request(HttpMethod.Post, "/files/");
        create.Headers.Add("Upload-Concat", "partial");
        create.Headers.Add("Upload-Defer-Length", "1");
        using var created = await http.SendAsync(create);
        var partial = created.Headers.Location!.OriginalString;

        // The final is made while its partial is empty (it counts 0 bytes then); the partial is filled after.
        using var finalRequest = Tus.Request(HttpMethod.Post, "/files/");
        finalRequest.Headers.Add("Upload-Concat", $"final;{partial}");
        using var final = await http.SendAsync(finalRequest);
        Assert.Equal(HttpStatusCode.Created, final.StatusCode);
        using (var fill = await Tus.PatchAsync(http, partial, 0, Tus.Chunk(new byte[6000]), length: 6000))
        {
            Assert.Equal(HttpStatusCode.NoContent, fill.StatusCode);
        }

        // Copying it would make 12,000 bytes: refused at the first HEAD, and at the second (the first recorded the length).
        for (var i = 0; i < 2; i++)
        {
            using var head = await Tus.HeadAsync(http, final.Headers.Location!.OriginalString);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, head.StatusCode);
        }

        // Nothing was copied: 4000 bytes are still free, and 4001 are not.
        using var over = await http.PostAsync("/media/upload", Payloads.OctetStream(new byte[4001]));
        Assert.Equal(6000, (await over.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("usedBytes").GetInt64());
    }

    [Fact]
    public async Task AnAssemblyRunsUnderTheBandwidthLimitAndResumesWhenCutOff()
    {
        // 2 MiB/s for this owner: a 12 MiB final takes about 6 s to copy, and the client gives up after 1.5 s.
        var (frontend, http) = await OwnerWithQuotaAsync(1L << 40, new()
        {
            ["RateLimits:UploadKib:PerSecond"] = "2048",
            ["RateLimits:UploadKib:Burst"] = "1024",
        });
        await using var _ = frontend;
        var pieces = new[] { Payloads.Random(6 * Mib, seed: 91), Payloads.Random(6 * Mib, seed: 92) };
        var urls = new List<string>();
        foreach (var piece in pieces)
        {
            using var create = Tus.Request(HttpMethod.Post, "/files/");
            create.Headers.Add("Upload-Concat", "partial");
            create.Headers.Add("Upload-Length", piece.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var created = await http.SendAsync(create);
            var url = created.Headers.Location!.OriginalString;
            using var patch = await Tus.PatchAsync(http, url, 0, Tus.Chunk(piece));
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
            urls.Add(url);
        }

        using (var final = Tus.Request(HttpMethod.Post, "/files/"))
        {
            final.Headers.Add("Upload-Concat", "final;" + string.Join(' ', urls));
            using var impatient = new CancellationTokenSource(TimeSpan.FromSeconds(1.5));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => http.SendAsync(final, impatient.Token));
        }

        // The final exists (its creation was cut off before its answer): find it in the owner's list.
        var finalId = (await Eventually.HoldsAsync<long?>(async () =>
        {
            var page = await http.GetFromJsonAsync<JsonElement>("/media?limit=10");
            return page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt64())
                .Except(urls.Select(Tus.IdOf)).Cast<long?>().FirstOrDefault();
        }, id => id is not null, TimeSpan.FromSeconds(20), "the final in the index"))!.Value;

        // HEAD goes on from the durable offset (never 500) until every byte is there.
        var whole = pieces.SelectMany(p => p).ToArray();
        var offsets = new List<long?>();
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            using var head = await Tus.HeadAsync(http, $"/files/{finalId}");
            Assert.True(head.StatusCode is HttpStatusCode.OK or HttpStatusCode.Locked, $"HEAD answered {(int)head.StatusCode}");
            offsets.Add(Tus.Offset(head));
            if (Tus.Offset(head) == whole.Length)
            {
                break;
            }

            Assert.True(started.Elapsed < TimeSpan.FromMinutes(2), $"offsets so far: {string.Join(", ", offsets)}");
        }

        Assert.Equal(Payloads.Sha256(whole), Payloads.Sha256(await http.GetByteArrayAsync($"/media/{finalId}/content")));
        Assert.True(started.Elapsed > TimeSpan.FromSeconds(2), $"the rest of the copy took {started.Elapsed}: not throttled");
    }
}
