using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.DataPlane;
using MediaService.IntegrationTests.Infrastructure;
using MediaService.TestRules;

namespace MediaService.IntegrationTests;

/// <summary>tus behaviour that needs a second frontend or a short expiry.</summary>
[Collection(MediaServiceCollection.Name)]
public sealed class TusClusterTests(MediaServiceFixture fixture)
{
    private const int Mib = 1024 * 1024;

    [Fact]
    public async Task ANewerPatchThroughAnotherFrontendTakesOverAndTheOlderOneGets409()
    {
        var body = Payloads.Random(12 * Mib, seed: 51);
        var url = await Tus.CreateUrlAsync(fixture.Http, body.Length);
        await using var other = new FrontendFactory(fixture.Cluster.Options.ClusterId, fixture.ServiceId);
        using var otherHttp = other.CreateHttpClient();

        // The older PATCH sends one part's worth and a bit, then stalls (a slow or vanished client).
        var gated = new GatedStream(body, gateAt: 6 * Mib);
        var content = new StreamContent(gated);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        var older = Tus.PatchAsync(fixture.Http, url, 0, content);
        await gated.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        var durable = await Eventually.HoldsAsync(
            async () => { using var head = await Tus.HeadAsync(otherHttp, url); return Tus.Offset(head)!.Value; },
            offset => offset == TestEnvironment.PartSize, TimeSpan.FromSeconds(30), "the older PATCH's first part becoming durable");

        // A newer PATCH through the other frontend resumes from HEAD's offset and finishes the upload.
        using var newer = await Tus.PatchAsync(otherHttp, url, durable, Tus.Chunk(body, (int)durable));
        Assert.Equal(HttpStatusCode.NoContent, newer.StatusCode);
        Assert.Equal(body.Length, Tus.Offset(newer));

        gated.Open();
        using var olderResponse = await older;
        Assert.Equal(HttpStatusCode.Conflict, olderResponse.StatusCode);

        var id = Tus.IdOf(url);
        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await fixture.Http.GetByteArrayAsync($"/media/{id}/content")));
    }

    [Fact]
    public async Task AfterTheFrontendOfAPatchGoesDownAPatchThroughAnotherFrontendProceedsAtOnce()
    {
        var body = Payloads.Random(9 * Mib, seed: 53);
        var url = await Tus.CreateUrlAsync(fixture.Http, body.Length);
        var doomed = new FrontendFactory(fixture.Cluster.Options.ClusterId, fixture.ServiceId, shutdownTimeout: TimeSpan.FromMilliseconds(200));
        var gated = new GatedStream(body, gateAt: 6 * Mib);
        var content = new StreamContent(gated);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        var doomedHttp = doomed.CreateHttpClient();
        var stranded = Tus.PatchAsync(doomedHttp, url, 0, content);
        await gated.Reached.WaitAsync(TimeSpan.FromSeconds(30));

        // The frontend goes away with the PATCH in flight; its client is left hanging. (Its host may report that its
        // shutdown was cut short: that is the point.)
        try
        {
            await doomed.DisposeAsync();
        }
        catch (OperationCanceledException)
        {
        }

        doomedHttp.Dispose();
        await Assert.ThrowsAnyAsync<Exception>(() => stranded);

        using var head = await Tus.HeadAsync(fixture.Http, url);
        var offset = Tus.Offset(head)!.Value;
        using var resumed = await Tus.PatchAsync(fixture.Http, url, offset, Tus.Chunk(body, (int)offset));
        Assert.Equal(HttpStatusCode.NoContent, resumed.StatusCode);
        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await fixture.Http.GetByteArrayAsync($"/media/{Tus.IdOf(url)}/content")));
    }

    [Fact]
    public async Task AnUnfinishedUploadExpiresAnswers410AndItsBytesAreFreedByItsReminder()
    {
        await using var shortLived = new FrontendFactory(fixture.Cluster.Options.ClusterId, fixture.ServiceId,
            new Dictionary<string, string?> { ["Tus:Expiry"] = "00:00:02" });
        using var http = shortLived.CreateHttpClient();
        var url = await Tus.CreateUrlAsync(http, 10 * Mib);
        using (var patch = await Tus.PatchAsync(http, url, 0, Tus.Chunk(new byte[6 * Mib + 5])))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        var id = Tus.IdOf(url);
        async Task<int> TailObjectsAsync() => (await TestEnvironment.KeysAsync($"media/{id}/tail/")).Count;
        Assert.Equal(1, await TailObjectsAsync());

        var gone = await Eventually.HoldsAsync(
            async () => { using var head = await Tus.HeadAsync(http, url); return head.StatusCode; },
            status => status == HttpStatusCode.Gone, TimeSpan.FromSeconds(30), "the upload answering 410 after its expiry");
        Assert.Equal(HttpStatusCode.Gone, gone);
        using (var late = await Tus.PatchAsync(http, url, 6 * Mib + 5, Tus.Chunk(new byte[1])))
        {
            Assert.Equal(HttpStatusCode.Gone, late.StatusCode);
        }

        await Eventually.HoldsAsync(TailObjectsAsync, count => count == 0, TimeSpan.FromSeconds(60), "the expiry reminder deleting the tail object");
        var item = await http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata");
        Assert.Equal("expired", item.GetProperty("status").GetString());
    }

    [Fact]
    public async Task ARequestOverTheAppendLimitGets413AndASlowClientIsCutOffKeepingWhatArrived()
    {
        await using var strict = new FrontendFactory(fixture.Cluster.Options.ClusterId, fixture.ServiceId, new Dictionary<string, string?>
        {
            ["Uploads:MaxAppendBytes"] = (2 * Mib).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Uploads:MinBytesPerSecond"] = "100000",
            ["Uploads:MinRateGracePeriod"] = "00:00:02",
        });
        using var http = strict.CreateHttpClient();
        var body = Payloads.Random(3 * Mib, seed: 99);
        var url = await Tus.CreateUrlAsync(http, body.Length);

        using (var tooLarge = await Tus.PatchAsync(http, url, 0, Tus.Chunk(body)))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        }

        // A client that sends 1 MiB and then stalls falls under the minimum rate and is cut off.
        var stalled = new GatedStream(body[..(2 * Mib)], gateAt: Mib);
        var content = new StreamContent(stalled);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        content.Headers.ContentLength = 2 * Mib;
        var slow = Tus.PatchAsync(http, url, 0, content);
        await stalled.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        var kept = await Eventually.HoldsAsync(
            async () => { using var head = await Tus.HeadAsync(http, url); return Tus.Offset(head)!.Value; },
            offset => offset == Mib, TimeSpan.FromSeconds(30), "the stalled client's first MiB becoming durable after the cut");
        Assert.Equal(Mib, kept);
        stalled.Open();
        await Assert.ThrowsAnyAsync<Exception>(async () => (await slow).EnsureSuccessStatusCode());
    }
}
