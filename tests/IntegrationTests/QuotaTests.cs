using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests;

/// <summary>Per-owner quotas at and just over their limits.</summary>
[Collection(MediaServiceCollection.Name)]
public sealed class QuotaTests(MediaServiceFixture fixture)
{
    [Fact]
    public async Task StoredBytesAndUnfinishedUploadsAreLimitedPerOwner()
    {
        await using var frontend = new FrontendFactory(fixture.Cluster.Options.ClusterId, fixture.ServiceId, new Dictionary<string, string?>
        {
            ["Quotas:MaxStoredBytes"] = "10000",
            ["Quotas:MaxUnfinishedUploads"] = "2",
        });
        using var admin = frontend.CreateHttpClient(frontend.AdminKey);
        var owner = $"quota-{Guid.NewGuid():N}"[..20];
        using var created = await admin.PostAsJsonAsync("/admin/keys", new { owner });
        using var http = frontend.CreateHttpClient((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString());

        async Task<HttpResponseMessage> Upload(int bytes) => await http.PostAsync("/media/upload", Payloads.OctetStream(new byte[bytes]));

        Assert.Equal(HttpStatusCode.Created, (await Upload(6000)).StatusCode);
        using (var over = await Upload(4001))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, over.StatusCode);
            var problem = await over.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("quota-exceeded", problem.GetProperty("code").GetString());
            Assert.Equal(6000, problem.GetProperty("usedBytes").GetInt64());
        }

        Assert.Equal(HttpStatusCode.Created, (await Upload(4000)).StatusCode); // exactly at the limit
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await Upload(1)).StatusCode);
        using (var tus = await Tus.CreateAsync(http, 1))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tus.StatusCode); // tus creation, the same quota
        }

        // Unfinished uploads: two may be open, a third is refused until one ends.
        await using var roomy = new FrontendFactory(fixture.Cluster.Options.ClusterId, fixture.ServiceId, new Dictionary<string, string?>
        {
            ["Quotas:MaxStoredBytes"] = "100",
            ["Quotas:MaxUnfinishedUploads"] = "2",
        });
        using var madeB = await admin.PostAsJsonAsync("/admin/keys", new { owner = owner + "-b" });
        using var second = roomy.CreateHttpClient((await madeB.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString());
        var first = await Tus.CreateUrlAsync(second, 10);
        await Tus.CreateUrlAsync(second, 10);
        using (var third = await Tus.CreateAsync(second, 10))
        {
            Assert.Equal(HttpStatusCode.Forbidden, third.StatusCode);
            Assert.Equal("quota-exceeded", (await third.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        }

        using (var finish = await Tus.PatchAsync(second, first, 0, Tus.Chunk(new byte[10])))
        {
            Assert.Equal(HttpStatusCode.NoContent, finish.StatusCode);
        }

        // A deferred length is checked when it is declared: 10 stored + 10 announced + 81 > 100.
        var deferred = await Tus.CreateUrlAsync(second, null);
        using (var tooMuch = await Tus.PatchAsync(second, deferred, 0, Tus.Chunk(new byte[5]), length: 81))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooMuch.StatusCode);
        }

        using var fits = await Tus.PatchAsync(second, deferred, 0, Tus.Chunk(new byte[80]), length: 80);
        Assert.Equal(HttpStatusCode.NoContent, fits.StatusCode);
    }
}
