using System.Net.Http.Json;
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
            var grain = cluster.Client.GetGrain<IMediaItemGrain>(id);
            var host = await cluster.Client.GetGrain<IManagementGrain>(0).GetActivationAddress(grain);
            var victim = (InProcessSiloHandle)cluster.Silos.Single(s => s.SiloAddress.Equals(host));
            var processor = victim.SiloHost.Services.GetRequiredService<MediaProcessor>();
            await Eventually.HoldsAsync(() => Task.FromResult(processor.Running), running => running > 0, TimeSpan.FromSeconds(30),
                "the item's processing running on its silo");
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

/// <summary>S3 unreachable from the silos while an item waits for processing: retried with backoff until it is back.</summary>
public sealed class ProcessingOutageTests
{
    [Fact]
    public async Task ProcessingThatMeetsAnS3OutageIsRetriedAndEndsReadyOnceS3IsBack()
    {
        var serviceId = $"media-processing-outage-{Guid.NewGuid():N}";
        await using var relay = new TcpProxy(new Uri(TestEnvironment.S3ServiceUrl));
        var cluster = await MediaTestCluster.StartAsync(serviceId, silos: 1, settings: new Dictionary<string, string>
        {
            ["S3:ServiceUrl"] = relay.Address.ToString(),
            ["S3:MaxRetries"] = "1",
            ["S3:RetryBaseDelay"] = "00:00:00.050",
            ["S3:AttemptTimeout"] = "00:00:02",
            ["S3:BreakerMinimumThroughput"] = "2",
            ["S3:BreakerBreakDuration"] = "00:00:01",
            ["Processing:Slots"] = "1",
            ["Processing:RetryDelay"] = "00:00:00.300",
            ["Processing:MaxRetryDelay"] = "00:00:01",
            ["Processing:MaxAttempts"] = "50",
        });
        try
        {
            // The frontend reaches S3 directly; only the silo's way to S3 goes through the relay.
            await using var frontend = new FrontendFactory(cluster.Options.ClusterId, serviceId);
            using var http = frontend.CreateHttpClient();
            var video = await MediaFiles.VideoAsync("busy.mp4", "1280x720", 6);
            var busy = await MediaFiles.UploadAsync(http, video, "busy.mp4", "video/mp4");
            var photo = await MediaFiles.UploadAsync(http, MediaService.Tests.MediaCorpus.JpegWithGps(800, 600), "photo.jpg", "image/jpeg");

            // The one slot is busy with the video, the photo waits behind it; then S3 goes away for the silo.
            relay.Cut();
            var waiting = await Eventually.HoldsAsync(
                async () => MediaFiles.Processing(await http.GetFromJsonAsync<System.Text.Json.JsonElement>($"/media/{photo}/metadata")),
                p => p.GetProperty("status").GetString() == "processing" && p.TryGetProperty("reason", out var r) && r.GetString() is not null,
                TimeSpan.FromSeconds(60), "the photo's processing meeting the outage");
            Assert.Contains("Unavailable", waiting.GetProperty("reason").GetString(), StringComparison.OrdinalIgnoreCase);

            relay.Restore();
            foreach (var id in new[] { busy, photo })
            {
                var processing = MediaFiles.Processing(await MediaFiles.ProcessedAsync(http, id, TimeSpan.FromSeconds(120)));
                Assert.Equal("ready", processing.GetProperty("status").GetString());
                Assert.True(id != photo || processing.GetProperty("attempts").GetInt32() >= 2, $"the photo was retried: {processing}");
                Assert.False(processing.TryGetProperty("reason", out _), "a ready item keeps no error");
            }
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }
}
