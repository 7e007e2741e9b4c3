using System.Net;
using MediaService.Grains.Interfaces;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests;

/// <summary>Faults on a cluster of its own: a silo killed (not shut down) in the middle of an upload.</summary>
public sealed class TusFaultTests
{
    private const int Mib = 1024 * 1024;

    [Fact]
    public async Task AnUploadWhoseSiloIsKilledResumesElsewhereAndFinishesByteIdentical()
    {
        var serviceId = $"media-faults-{Guid.NewGuid():N}";
        var cluster = await MediaTestCluster.StartAsync(serviceId, silos: 3, fastDeathDetection: true);
        try
        {
            await using var frontend = new FrontendFactory(cluster.Options.ClusterId, serviceId);
            using var http = frontend.CreateHttpClient();
            var body = Payloads.Random(14 * Mib + 11, seed: 101);
            var url = await Tus.CreateUrlAsync(http, body.Length);
            using (var first = await Tus.PatchAsync(http, url, 0, Tus.Chunk(body, 0, 6 * Mib)))
            {
                Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
            }

            // Kill the silo that holds the upload's grain, without letting it shut down.
            var grain = cluster.Client.GetGrain<IMediaItemGrain>(Tus.IdOf(url));
            var host = await cluster.Client.GetGrain<IManagementGrain>(0).GetActivationAddress(grain);
            var victim = cluster.Silos.Single(s => s.SiloAddress.Equals(host));
            await cluster.KillSiloAsync(victim);

            // A client retrying as tus-js-client does: HEAD for the offset, then PATCH the rest from there.
            var status = await Eventually.HoldsAsync(
                async () =>
                {
                    try
                    {
                        using var head = await Tus.HeadAsync(http, url);
                        if (Tus.Offset(head) is not { } offset)
                        {
                            return head.StatusCode;
                        }

                        Assert.Equal(6 * Mib, offset);
                        using var rest = await Tus.PatchAsync(http, url, offset, Tus.Chunk(body, (int)offset));
                        return rest.StatusCode;
                    }
                    catch (HttpRequestException)
                    {
                        return HttpStatusCode.ServiceUnavailable;
                    }
                },
                s => s == HttpStatusCode.NoContent, TimeSpan.FromSeconds(90), "the upload resuming after its silo was killed");
            Assert.Equal(HttpStatusCode.NoContent, status);

            Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await http.GetByteArrayAsync($"/media/{Tus.IdOf(url)}/content")));
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }
}
