using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace MediaService.IntegrationTests;

/// <summary>Rate limits that hold for the cluster: one owner spraying two frontends gets the configured rate in all.</summary>
[Collection(MediaServiceCollection.Name)]
public sealed class RateLimitTests(MediaServiceFixture fixture, ITestOutputHelper output)
{
    private Dictionary<string, string?> Limits(double perSecond, int burst) => new()
    {
        ["RateLimits:Read:PerSecond"] = perSecond.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["RateLimits:Read:Burst"] = burst.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private async Task<string> NewOwnerKeyAsync(FrontendFactory frontend)
    {
        using var admin = frontend.CreateHttpClient(frontend.AdminKey);
        using var created = await admin.PostAsJsonAsync("/admin/keys", new { owner = $"rate-{Guid.NewGuid():N}"[..20] });
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task TheAdmittedRateOverAllFrontendsNeverPassesTheConfiguredRateByMoreThanTenPercent(int frontends)
    {
        const double rate = 25;
        var factories = new List<FrontendFactory>();
        for (var i = 0; i < frontends; i++)
        {
            factories.Add(new FrontendFactory(fixture.Cluster.Options.ClusterId, fixture.ServiceId, Limits(rate, 5)));
        }

        try
        {
            var key = await NewOwnerKeyAsync(factories[0]);
            var clients = factories.Select(f => f.CreateHttpClient(key)).ToArray();
            var id = await MediaFiles.UploadAsync(fixture.Http, Encoding.ASCII.GetBytes("x"), "x.txt", "text/plain");

            // A client spraying every frontend, 8 requests at a time, for a while; the burst is spent first.
            async Task<(int Admitted, int Refused, TimeSpan Elapsed)> SprayAsync(TimeSpan duration)
            {
                int admitted = 0, refused = 0, turn = 0;
                var clock = Stopwatch.StartNew();
                await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
                {
                    while (clock.Elapsed < duration)
                    {
                        var client = clients[Interlocked.Increment(ref turn) % clients.Length];
                        using var response = await client.GetAsync($"/media/{id}/metadata");
                        if (response.StatusCode == HttpStatusCode.TooManyRequests)
                        {
                            Interlocked.Increment(ref refused);
                        }
                        else
                        {
                            Interlocked.Increment(ref admitted);
                        }
                    }
                }));
                return (admitted, refused, clock.Elapsed);
            }

            await SprayAsync(TimeSpan.FromSeconds(1));
            var (admitted, refused, elapsed) = await SprayAsync(TimeSpan.FromSeconds(6));

            // Over the time the requests really took (the last ones end after the window). What a cluster-wide limit must
            // never do is admit more than its rate, whatever the number of frontends: that bound is tight. Fewer is what a
            // starved machine gives (a frontend's leased tokens lapse when requests come late; a shared 2-core machine),
            // so the lower bound only says the limiter does not choke the key.
            var admittedRate = admitted / elapsed.TotalSeconds;
            output.WriteLine($"{frontends} frontend(s): admitted {admitted} in {elapsed.TotalSeconds:0.00} s = {admittedRate:0.0}/s (configured {rate}/s), refused {refused}");
            Assert.True(refused > admitted, "the client asked for far more than the limit");
            Assert.InRange(admittedRate, rate * 0.6, rate * 1.1);
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
        finally
        {
            foreach (var factory in factories)
            {
                await factory.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task AnUploadOverTheBandwidthLimitIsSlowedDownNotFailed()
    {
        await using var frontend = new FrontendFactory(fixture.Cluster.Options.ClusterId, fixture.ServiceId, new Dictionary<string, string?>
        {
            ["RateLimits:UploadKib:PerSecond"] = "256",
            ["RateLimits:UploadKib:Burst"] = "64",
        });
        using var client = frontend.CreateHttpClient(await NewOwnerKeyAsync(frontend));
        var body = Payloads.Random(1024 * 1024, seed: 77);

        var clock = Stopwatch.StartNew();
        using var response = await client.PostAsync("/media/upload?filename=slow.bin", Payloads.OctetStream(body));
        var elapsed = clock.Elapsed;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await client.GetByteArrayAsync($"/media/{id}/content")));
        output.WriteLine($"1 MiB at 256 KiB/s (bursts of 64 KiB) took {elapsed.TotalSeconds:0.00} s");
        Assert.True(elapsed > TimeSpan.FromSeconds(3), $"1 MiB at 256 KiB/s after a 64 KiB burst needs about 3.75 s; it took {elapsed}");
    }

    [Fact]
    public async Task ARefusalSaysWhenTheNextTokenComesNotTheWholePeriodWithTheRateLimitHeaders()
    {
        await using var frontend = new FrontendFactory(fixture.Cluster.Options.ClusterId, fixture.ServiceId, Limits(0.2, 2)); // a token every 5 s
        using var client = frontend.CreateHttpClient(await NewOwnerKeyAsync(frontend));
        var id = await MediaFiles.UploadAsync(fixture.Http, Encoding.ASCII.GetBytes("y"), "y.txt", "text/plain");

        using var first = await client.GetAsync($"/media/{id}/metadata");
        Assert.Equal("\"read\";q=2;w=10", first.Headers.GetValues("RateLimit-Policy").Single());
        Assert.StartsWith("\"read\";r=1;t=", first.Headers.GetValues("RateLimit").Single());
        Assert.NotEqual(HttpStatusCode.TooManyRequests, (await client.GetAsync($"/media/{id}/metadata")).StatusCode);
        using var refused = await client.GetAsync($"/media/{id}/metadata");

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var retryAfter = refused.Headers.RetryAfter!.Delta!.Value;
        Assert.InRange(retryAfter.TotalSeconds, 4, 5); // the next token, not the 10 s window
        Assert.StartsWith("\"read\";r=0;t=", refused.Headers.GetValues("RateLimit").Single());
        Assert.Equal("rate-limited", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());

        // Other classes and other owners have buckets of their own.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/media")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await fixture.Http.GetAsync($"/media/{id}/metadata")).StatusCode);
    }
}
