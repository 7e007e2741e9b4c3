using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests;

/// <summary>What operators see: Prometheus metrics, traces across frontend, grain and S3, and the cluster view.</summary>
[Collection(MediaServiceCollection.Name)]
public sealed class ObservabilityTests(MediaServiceFixture fixture)
{
    [Fact]
    public async Task MetricsAreExportedForPrometheusWithoutAKey()
    {
        // Counting is checked in ScaleTests, on real silo processes and a frontend alone in the test process: here
        // other test clusters and frontends share the process, and their meters of the same name with it.
        // Some traffic first: an upload through S3 and the grain (instruments appear once they have measured).
        var body = Payloads.Random(64 * 1024, seed: 79);
        var url = await Tus.CreateUrlAsync(fixture.Http, body.Length);
        using (var patch = await Tus.PatchAsync(fixture.Http, url, 0, Tus.Chunk(body)))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        using var anonymous = fixture.Frontend.CreateHttpClient(key: null);
        using var response = await anonymous.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var metrics = await response.Content.ReadAsStringAsync();
        foreach (var name in new[] { "media_appends_active", "media_circuit_state", "resilience_polly_pipeline_duration_milliseconds_bucket", "http_server_request_duration_seconds_bucket", "orleans_" })
        {
            Assert.True(metrics.Contains(name, StringComparison.Ordinal), $"{name} is not among the exported metrics");
        }
    }

    [Fact]
    public async Task OneTraceRunsFromTheRequestThroughTheGrainToS3()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var seen = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.TraceId == traceId)
                {
                    seen.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/media/upload?filename=trace.bin") { Content = Payloads.OctetStream(Payloads.Random(4096, seed: 78)) };
        // The client's own span: its trace id goes out in traceparent, as a traced client's would.
        using (var client = new Activity("test client").SetParentId(traceId, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded).Start())
        using (var response = await fixture.Http.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        var s3 = new Uri(TestEnvironment.S3ServiceUrl).Authority;
        Activity[] all;
        try
        {
            all = await Eventually.HoldsAsync(() => Task.FromResult(seen.ToArray()),
                a => a.Any(IsGrainServer) && a.Any(x => IsS3Call(x, s3) && Ancestors(x, a).Any(IsGrainServer)),
                TimeSpan.FromSeconds(10), "spans of the request, the grain call and S3");
        }
        catch (TimeoutException)
        {
            Assert.Fail("The trace holds only: " + string.Join("; ", seen.Select(a => $"{a.Source.Name}/{a.Kind}/{a.DisplayName} {a.GetTagItem("url.full")}")));
            throw;
        }

        Assert.Contains(all, a => a.Kind == ActivityKind.Server && a.Source.Name == "Microsoft.AspNetCore");
        Assert.Contains(all, a => a.Kind == ActivityKind.Client && a.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal));
        // The frontend's own S3 write is part of the trace too.
        Assert.Contains(all, a => IsS3Call(a, s3) && !Ancestors(a, all).Any(IsGrainServer));

        static bool IsGrainServer(Activity a) => a.Kind == ActivityKind.Server && a.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheClusterViewListsEverySiloWithItsLoadForAdminsOnly()
    {
        // An unfinished upload: its grain is active on one of the silos, as a media item and an upload in progress.
        var body = Payloads.Random(1024 * 1024, seed: 80);
        var url = await Tus.CreateUrlAsync(fixture.Http, body.Length * 2L);
        using (var patch = await Tus.PatchAsync(fixture.Http, url, 0, Tus.Chunk(body)))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        using var admin = fixture.Frontend.CreateHttpClient(fixture.Frontend.AdminKey);
        var view = await admin.GetFromJsonAsync<JsonElement>("/admin/cluster");
        var silos = view.GetProperty("silos").EnumerateArray().Where(s => s.GetProperty("status").GetString() == "Active").ToArray();
        Assert.Equal(fixture.Cluster.Silos.Count, silos.Length);
        var loads = silos.Select(s => s.GetProperty("load")).ToArray();
        Assert.All(loads, load => Assert.True(load.GetProperty("activations").GetInt32() > 0));
        Assert.True(loads.Sum(l => l.GetProperty("mediaItems").GetInt32()) >= 1);
        Assert.True(loads.Sum(l => l.GetProperty("uploadsInProgress").GetInt64()) >= 1);
        // The fixture's frontend is connected to the cluster's gateways.
        Assert.True(loads.Sum(l => l.GetProperty("clients").GetInt32()) >= 1);
        Assert.Equal(JsonValueKind.Number, view.GetProperty("frontend").GetProperty("appendsInProgress").ValueKind);

        using var forbidden = await fixture.Http.GetAsync("/admin/cluster");
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        using var terminate = Tus.Request(HttpMethod.Delete, url);
        using var terminated = await fixture.Http.SendAsync(terminate);
        Assert.Equal(HttpStatusCode.NoContent, terminated.StatusCode);
    }

    private static bool IsS3Call(Activity activity, string s3Authority) =>
        activity.Kind == ActivityKind.Client && activity.Source.Name == "System.Net.Http"
        && activity.GetTagItem("url.full") is string url && new Uri(url).Authority == s3Authority;

    private static IEnumerable<Activity> Ancestors(Activity activity, IReadOnlyCollection<Activity> all)
    {
        var byId = all.ToDictionary(a => a.SpanId);
        for (var parent = activity.ParentSpanId; byId.TryGetValue(parent, out var next); parent = next.ParentSpanId)
        {
            yield return next;
        }
    }

}
