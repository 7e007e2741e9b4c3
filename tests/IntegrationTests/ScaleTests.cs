using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using MediaService.Grains.Interfaces;
using MediaService.IntegrationTests.Infrastructure;
using MediaService.Tests;
using Xunit.Abstractions;
using MediaService.TestRules;

namespace MediaService.IntegrationTests;

/// <summary>
/// Operating the cluster with real silo processes: scaling out and in under load (SIGTERM drains a silo), and a silo
/// killed outright. Clients retry as tus-js-client does; no upload may fail and every byte must arrive.
/// </summary>
[Collection(ScaleCollection.Name)]
public sealed class ScaleTests(ITestOutputHelper output)
{
    private const int Kib = 1024;

    // Short enough that the rebalancer acts during the test (production defaults: 60 s and 15 s).
    private static readonly Dictionary<string, string?> SiloSettings = new()
    {
        ["Orleans:Rebalancer:RebalancerDueTime"] = "00:00:05",
        ["Orleans:Rebalancer:SessionCyclePeriod"] = "00:00:02",
    };

    [Fact]
    public async Task ScalingFromOneSiloToThreeAndBackToOneUnderLoadFailsNoUploadAndLosesNoByte()
    {
        var serviceId = $"media-scale-{Guid.NewGuid():N}";
        var clusterId = $"scale-{Guid.NewGuid():N}";
        var silos = new List<SiloProcess>();
        try
        {
            var first = await SiloProcess.StartAsync(clusterId, serviceId, SiloSettings);
            silos.Add(first);
            await using var frontend = new FrontendFactory(clusterId, serviceId);
            using var http = frontend.CreateHttpClient();
            using var admin = frontend.CreateHttpClient(frontend.AdminKey);
            var load = new Load(http, workers: 3);
            var running = load.RunAsync();

            await load.WaitForCompletedAsync(4, "uploads on one silo");
            var clock = Stopwatch.StartNew();
            var added = await Task.WhenAll(SiloProcess.StartAsync(clusterId, serviceId, SiloSettings), SiloProcess.StartAsync(clusterId, serviceId, SiloSettings));
            silos.AddRange(added);
            var joined = clock.Elapsed;

            // Scale out: both new silos carry media items (new activations land there, the rebalancer moves idle ones).
            var share = await Eventually.HoldsAsync(
                () => MediaItemsPerSiloAsync(admin),
                perSilo => added.All(s => perSilo.TryGetValue(s.SiloPort, out var items) && items > 0),
                TimeSpan.FromSeconds(90), "the new silos carrying media items");
            output.WriteLine($"3 silos: joined in {joined.TotalSeconds:0.0} s, carrying items {clock.Elapsed.TotalSeconds:0.0} s after the start; items per silo: {Describe(share)}");
            await load.WaitForCompletedAsync(load.Completed + 4, "uploads on three silos");

            // Scale in: SIGTERM drains the first silo, then the second, while uploads go on.
            foreach (var leaving in new[] { first, added[0] })
            {
                var drain = Stopwatch.StartNew();
                var exit = await leaving.TerminateAsync(TimeSpan.FromSeconds(60));
                Assert.True(exit == 0, $"The silo exited with {exit} after SIGTERM:\n{leaving.LogTail()}");
                output.WriteLine($"silo :{leaving.SiloPort} drained and exited in {drain.Elapsed.TotalSeconds:0.0} s; {Describe(await MediaItemsPerSiloAsync(admin))}");
                await load.WaitForCompletedAsync(load.Completed + 3, "uploads after a silo left");
            }

            // Metrics of the silo that stayed: the service's own meter and Orleans' are exported and count.
            using (var last = added[1].Http())
            {
                var metrics = await last.GetStringAsync("/metrics");
                Assert.Contains("orleans_grains{", metrics, StringComparison.Ordinal);
                Assert.True(Counter(metrics, "media_uploads_completed_total") > 0, "media_uploads_completed_total does not count on the remaining silo");
                Assert.True(Counter(metrics, "media_uploads_started_total") > 0, "media_uploads_started_total does not count on the remaining silo");
                Assert.Contains("resilience_polly_pipeline_duration_milliseconds_bucket{", metrics, StringComparison.Ordinal);

                // The Orleans dashboard is served on the same port.
                using var dashboard = await last.GetAsync("/dashboard/");
                Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
                Assert.Equal("text/html", dashboard.Content.Headers.ContentType?.MediaType);
            }

            var results = await load.StopAsync(running);

            // The frontend (alone in this process now) counted every byte it stored.
            using (var anonymous = frontend.CreateHttpClient(key: null))
            {
                var metrics = await anonymous.GetStringAsync("/metrics");
                Assert.True(Counter(metrics, "media_upload_bytes_received_bytes_total") >= load.Bytes,
                    $"media_upload_bytes_received_bytes_total is under the {load.Bytes} bytes uploaded");
                Assert.Equal(0, Counter(metrics, "media_uploads_failed_total"));
                Assert.Contains("media_appends_active", metrics, StringComparison.Ordinal);
            }

            output.WriteLine($"{results.Count} uploads and {load.Reads} metadata reads; {load.Retries} client retries; failures: {load.Failures.Count}");
            Assert.Empty(load.Failures);
            Assert.True(results.Count >= 11, $"only {results.Count} uploads completed");
            foreach (var (url, sha) in results)
            {
                Assert.Equal(sha, Payloads.Sha256(await http.GetByteArrayAsync($"/media/{Tus.IdOf(url)}/content")));
            }
        }
        finally
        {
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task AKilledSiloIsDeclaredDeadWithinTheConfiguredTimeAndItsUploadFinishesElsewhere()
    {
        var probeTimeout = TimeSpan.FromSeconds(1);
        const int missedProbes = 2;
        var settings = new Dictionary<string, string?>(SiloSettings)
        {
            ["Orleans:Membership:ProbeTimeout"] = probeTimeout.ToString(),
            ["Orleans:Membership:NumMissedProbesLimit"] = missedProbes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans:Membership:NumVotesForDeathDeclaration"] = "1",
        };

        // Orleans lets a probe take up to 4 x ProbeTimeout on a slow link; the death is declared after the missed
        // probes and then written to the membership table, which every silo and client reads.
        var bound = missedProbes * 4 * probeTimeout + TimeSpan.FromSeconds(5);
        await using var cluster = await TwoSilos.StartAsync("kill", settings);
        var (http, admin) = (cluster.Http, cluster.Admin);

        var body = Payloads.Random(11 * 1024 * Kib + 5, seed: 4242);
        var url = await Tus.CreateUrlAsync(http, body.Length);
        using (var firstPart = await Tus.PatchAsync(http, url, 0, Tus.Chunk(body, 0, 5 * 1024 * Kib)))
        {
            Assert.Equal(HttpStatusCode.NoContent, firstPart.StatusCode);
        }

        var victim = await cluster.HolderOfAsync(url);
        var clock = Stopwatch.StartNew();
        await victim.CrashAsync();

        await Eventually.HoldsAsync(
            async () =>
            {
                try
                {
                    return (await ClusterAsync(admin, includeDead: true)).Silos.SingleOrDefault(s => s.Address.StartsWith($"127.0.0.1:{victim.SiloPort}@", StringComparison.Ordinal))?.Status;
                }
                catch (HttpRequestException ex) when (ex.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    return "503"; // the cluster view may be unavailable until the dead silo is declared dead
                }
            },
            status => status == "Dead", TimeSpan.FromSeconds(60), "the killed silo declared dead");
        var detected = clock.Elapsed;
        output.WriteLine($"killed silo declared dead after {detected.TotalSeconds:0.0} s (configured bound {bound.TotalSeconds:0} s)");
        Assert.True(detected <= bound, $"Death took {detected}, more than the {bound} the membership options allow.");

        // The upload continues on the other silo, from the offset the dead one had recorded.
        using (var head = await Tus.HeadAsync(http, url))
        {
            Assert.Equal(5 * 1024 * Kib, Tus.Offset(head));
        }

        using (var rest = await Tus.PatchAsync(http, url, 5 * 1024 * Kib, Tus.Chunk(body, 5 * 1024 * Kib)))
        {
            Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);
        }

        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await http.GetByteArrayAsync($"/media/{Tus.IdOf(url)}/content")));
    }

    [Fact]
    public async Task WithNoSiloLeftRequestsGet503WithRetryAfterAndSucceedOnceASiloIsBack()
    {
        var serviceId = $"media-empty-{Guid.NewGuid():N}";
        var clusterId = $"empty-{Guid.NewGuid():N}";
        var only = await SiloProcess.StartAsync(clusterId, serviceId, SiloSettings);
        await using var frontend = new FrontendFactory(clusterId, serviceId);
        using var http = frontend.CreateHttpClient();
        var body = Payloads.Random(100 * Kib, seed: 4444);
        var url = await Tus.CreateUrlAsync(http, body.Length);
        using (var patch = await Tus.PatchAsync(http, url, 0, Tus.Chunk(body)))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        Assert.Equal(0, await only.TerminateAsync(TimeSpan.FromSeconds(60)));
        await only.DisposeAsync();

        // No silo: the answer says to come back, and nothing is lost.
        using (var unavailable = await http.GetAsync($"/media/{Tus.IdOf(url)}/metadata"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, unavailable.StatusCode);
            Assert.NotNull(unavailable.Headers.RetryAfter);
            Assert.Equal("cluster-unavailable", (await unavailable.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("code").GetString());
        }

        // A silo joins: the same frontend, never restarted, serves the item again.
        await using var next = await SiloProcess.StartAsync(clusterId, serviceId, SiloSettings);
        var status = await Eventually.HoldsAsync(
            async () => { using var response = await http.GetAsync($"/media/{Tus.IdOf(url)}/metadata"); return response.StatusCode; },
            s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "the item served again once a silo is back");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await http.GetByteArrayAsync($"/media/{Tus.IdOf(url)}/content")));
    }

    [Fact]
    public async Task AnAppendInFlightWhileItsItemsSiloDrainsFinishesOnAnotherSilo()
    {
        await using var cluster = await TwoSilos.StartAsync("append-drain", SiloSettings);
        var http = cluster.Http;

        // One PATCH sends a part and a bit, then stalls while the silo holding the item drains.
        var body = Payloads.Random(13 * 1024 * Kib + 7, seed: 4343);
        var url = await Tus.CreateUrlAsync(http, body.Length);
        var gated = new GatedStream(body, gateAt: 6 * 1024 * Kib);
        var content = new StreamContent(gated);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/offset+octet-stream");
        var patch = Tus.PatchAsync(http, url, 0, content);
        await gated.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        await Eventually.HoldsAsync(
            async () => { using var head = await Tus.HeadAsync(http, url); return Tus.Offset(head)!.Value; },
            offset => offset == TestEnvironment.PartSize, TimeSpan.FromSeconds(30), "the first part becoming durable");

        var leaving = await cluster.HolderOfAsync(url);
        Assert.Equal(0, await leaving.TerminateAsync(TimeSpan.FromSeconds(60)));

        // The same request goes on: its next parts are recorded by the item on the other silo.
        gated.Open();
        using (var response = await patch)
        {
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            Assert.Equal(body.Length, Tus.Offset(response));
        }

        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await http.GetByteArrayAsync($"/media/{Tus.IdOf(url)}/content")));
    }

    [Fact]
    public async Task AProcessingJobOfADrainedSiloMovesToAnotherSiloAndFinishes()
    {
        await using var cluster = await TwoSilos.StartAsync("processing-drain", SiloSettings);
        var (http, admin) = (cluster.Http, cluster.Admin);

        // A 1080p video: its transcode to 720p keeps a processing slot busy for a while.
        var video = await MediaFiles.VideoAsync("drain.mp4", size: "1920x1080", seconds: 12, codecs: "-c:v libx264 -preset ultrafast -g 25 -c:a aac");
        var id = await MediaFiles.UploadAsync(http, video, "drain.mp4", "video/mp4");
        var busy = await Eventually.HoldsAsync(
            async () => (await ClusterAsync(admin)).Silos.FirstOrDefault(s => s.Load is { ProcessingRunning: > 0 }),
            silo => silo is not null, TimeSpan.FromSeconds(60), "a silo running the processing job");
        var leaving = cluster.ByPort(int.Parse(busy!.Address.Split(':', '@')[1], System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(0, await leaving.TerminateAsync(TimeSpan.FromSeconds(60)));
        var processed = await MediaFiles.ProcessedAsync(http, id, TimeSpan.FromSeconds(120));
        var processing = MediaFiles.Processing(processed);
        output.WriteLine($"processing {processing.GetProperty("status").GetString()} after {processing.GetProperty("attempts").GetInt32()} attempts");
        Assert.Equal("ready", processing.GetProperty("status").GetString());
        Assert.True(processing.GetProperty("attempts").GetInt32() >= 2, "the job did not start again on the remaining silo");
        Assert.Contains("web.mp4", MediaFiles.RenditionNames(processed));
    }

    private static async Task<ClusterDocument> ClusterAsync(HttpClient admin, bool includeDead = false) =>
        (await admin.GetFromJsonAsync<ClusterDocument>($"/admin/cluster?includeDead={includeDead}"))!;

    // Media item activations per silo port, from GET /admin/cluster.
    private static async Task<Dictionary<int, int>> MediaItemsPerSiloAsync(HttpClient admin) =>
        (await ClusterAsync(admin)).Silos.Where(s => s.Load is not null)
            .ToDictionary(s => int.Parse(s.Address.Split(':', '@')[1], System.Globalization.CultureInfo.InvariantCulture), s => s.Load!.MediaItems);

    private static string Describe(Dictionary<int, int> perSilo) => string.Join(", ", perSilo.Select(p => $":{p.Key} {p.Value}"));

    private static double Counter(string metrics, string name) =>
        metrics.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

    private sealed record ClusterDocument(DateTimeOffset At, string ClusterId, List<SiloDocument> Silos);

    private sealed record SiloDocument(string Address, string Name, string Status, SiloLoad? Load);

    /// <summary>Two silo processes of a fresh cluster and a frontend, with a user's and an admin's client.</summary>
    private sealed class TwoSilos : IAsyncDisposable
    {
        private TwoSilos(SiloProcess a, SiloProcess b, FrontendFactory frontend)
        {
            (A, B, Frontend) = (a, b, frontend);
            Http = frontend.CreateHttpClient();
            Admin = frontend.CreateHttpClient(frontend.AdminKey);
        }

        public SiloProcess A { get; }

        public SiloProcess B { get; }

        public FrontendFactory Frontend { get; }

        public HttpClient Http { get; }

        public HttpClient Admin { get; }

        public static async Task<TwoSilos> StartAsync(string name, IReadOnlyDictionary<string, string?> settings)
        {
            var (serviceId, clusterId) = ($"media-{name}-{Guid.NewGuid():N}", $"{name}-{Guid.NewGuid():N}");
            var a = await SiloProcess.StartAsync(clusterId, serviceId, settings);
            var b = await SiloProcess.StartAsync(clusterId, serviceId, settings);
            return new TwoSilos(a, b, new FrontendFactory(clusterId, serviceId));
        }

        public SiloProcess ByPort(int siloPort) => new[] { A, B }.Single(s => s.SiloPort == siloPort);

        /// <summary>The silo where the grain of an upload is active.</summary>
        public async Task<SiloProcess> HolderOfAsync(string url)
        {
            var client = Frontend.Services.GetRequiredService<IClusterClient>();
            var host = await client.GetGrain<IManagementGrain>(0).GetActivationAddress(client.GetGrain<IMediaItemGrain>(Tus.IdOf(url)));
            return ByPort(host!.Endpoint.Port);
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            Admin.Dispose();
            await Frontend.DisposeAsync();
            await A.DisposeAsync();
            await B.DisposeAsync();
        }
    }

    /// <summary>Workers that upload (300 KiB and 6 MiB bodies, 5 MiB chunks) and read metadata until stopped.</summary>
    private sealed class Load(HttpClient http, int workers)
    {
        private readonly ConcurrentBag<(string Url, string Sha)> _done = [];
        private readonly CancellationTokenSource _stop = new();
        private readonly RetryingTusClient _tus = new(http, 5 * 1024 * Kib);
        private int _reads;
        private long _bytes;

        public ConcurrentQueue<string> Failures { get; } = new();

        public int Completed => _done.Count;

        public int Reads => Volatile.Read(ref _reads);

        public long Bytes => Interlocked.Read(ref _bytes);

        public int Retries => _tus.Retries;

        public Task RunAsync() => Task.WhenAll(Enumerable.Range(0, workers).Select(WorkAsync));

        public async Task WaitForCompletedAsync(int count, string what) =>
            await Eventually.HoldsAsync(() => Task.FromResult(Completed), c => c >= count || !Failures.IsEmpty, TimeSpan.FromSeconds(120), what);

        public async Task<IReadOnlyList<(string Url, string Sha)>> StopAsync(Task running)
        {
            await _stop.CancelAsync();
            await running;
            return [.. _done];
        }

        private async Task WorkAsync(int worker)
        {
            var seed = worker * 100_000;
            while (!_stop.IsCancellationRequested)
            {
                var body = Payloads.Random(seed % 2 == 0 ? 300 * Kib + seed % 997 : 6 * 1024 * Kib + seed % 997, seed);
                seed++;
                try
                {
                    var url = await _tus.UploadAsync(body);
                    _done.Add((url, Payloads.Sha256(body)));
                    Interlocked.Add(ref _bytes, body.Length);
                    using var read = await http.GetAsync($"/media/{Tus.IdOf(url)}/metadata");
                    Interlocked.Increment(ref _reads);
                    if (read.StatusCode != HttpStatusCode.OK)
                    {
                        Failures.Enqueue($"metadata of {url}: {(int)read.StatusCode} {await read.Content.ReadAsStringAsync()}");
                    }
                }
                catch (Exception ex)
                {
                    Failures.Enqueue($"worker {worker}: {ex.GetType().Name}: {ex.Message}");
                }
            }
        }
    }
}

/// <summary>The scale tests run real silo processes: alone, after the other tests, so that neither slows the other.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ScaleCollection
{
    public const string Name = "scale";
}
