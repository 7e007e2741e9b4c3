using MediaService.DataPlane;
using MediaService.Grains.Interfaces;
using MediaService.Grains.Processing;
using MediaService.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace MediaService.IntegrationTests;

/// <summary>A silo killed (not shut down) while it processes an item: the item still ends ready, once.</summary>
public sealed class ProcessingFaultTests
{
    [Fact]
    public async Task AnItemWhoseSiloIsKilledMidProcessingEndsReadyOnceFromAnotherAttempt()
    {
        var serviceId = $"media-processing-faults-{Guid.NewGuid():N}";
        var cluster = await MediaTestCluster.StartAsync(serviceId, silos: 2, fastDeathDetection: true);
        try
        {
            await using var frontend = new FrontendFactory(cluster.Options.ClusterId, serviceId);
            using var http = frontend.CreateHttpClient();
            var video = await MediaFiles.VideoAsync("long.mp4", "1280x720", 6);
            var id = await MediaFiles.UploadAsync(http, video, "long.mp4", "video/mp4");

            // Kill the silo that holds the item's grain while its processing slot works on the item.
            var grain = cluster.Client.GetGrain<IUploadGrain>(id);
            var host = await cluster.Client.GetGrain<IManagementGrain>(0).GetActivationAddress(grain);
            var victim = (InProcessSiloHandle)cluster.Silos.Single(s => s.SiloAddress.Equals(host));
            var processor = victim.SiloHost.Services.GetRequiredService<MediaProcessor>();
            await Eventually.HoldsAsync(() => Task.FromResult(processor.Running), running => running > 0, TimeSpan.FromSeconds(30),
                "the item's processing running on its silo");
            await Task.Delay(300);
            await cluster.KillSiloAsync(victim);

            var metadata = await MediaFiles.ProcessedAsync(http, id, TimeSpan.FromSeconds(120));

            var processing = MediaFiles.Processing(metadata);
            Assert.Equal("ready", processing.GetProperty("status").GetString());
            Assert.Equal(2, processing.GetProperty("attempts").GetInt32());
            foreach (var rendition in processing.GetProperty("renditions").EnumerateArray())
            {
                using var response = await http.GetAsync(rendition.GetProperty("url").GetString());
                Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            }

            // Applied once: only the accepted attempt's objects remain (the lost attempt's are cleared).
            var keys = await Eventually.HoldsAsync(() => TestEnvironment.KeysAsync(MediaKeys.RenditionsPrefix(id)),
                k => k.All(key => key.StartsWith(MediaKeys.RenditionPrefix(id, 2), StringComparison.Ordinal)), TimeSpan.FromSeconds(30),
                "only attempt 2's renditions in S3");
            Assert.Equal(5, keys.Count);
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }
}
