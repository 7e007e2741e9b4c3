using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MediaService.DataPlane.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MediaService.Bench;

/// <summary>
/// Webhook delivery under load, for one configuration of the cluster (bench/webhook-bench.sh runs it with 1 silo and
/// with 3). A receiver in this process (Kestrel on 127.0.0.1) answers 204 at once and records each request's arrival
/// time, webhook-id, signature and body. Two new owners: one subscribed to every event ("*") at the receiver, one
/// without any subscription (the baseline). The phases, one after the other:
/// <list type="number">
/// <item>upload: the items of both owners (1 KiB text bodies, POST /media/upload); the subscribed owner's make
/// media.created and media.stored at once and media.processed when processing ends;</item>
/// <item>baseline: one metadata PATCH per item of the owner without a subscription (closed loop), after a warm-up;</item>
/// <item>patch: the same load on the subscribed owner's items (media.updated each), all of it at once;</item>
/// <item>paced: a second PATCH of the subscribed owner's items at a fixed rate, below what delivery carries, so that
/// the lag is the path's own and not a queue's.</item>
/// </list>
/// Each phase waits until every event it made has arrived (or none arrives for 30 s, which fails the run). The lag of an
/// event is its arrival minus its <c>timestamp</c> (the change's time; same machine, same clock). Prints lines for
/// bench/webhook-bench.sh: <c>delivery|...</c> per phase and one <c>patch|...</c>; progress and problems on stderr.
/// Returns 1 when an event is missing, unexpected, duplicated in a way that hides a loss, or badly signed, or a
/// request failed.
/// </summary>
public static class WebhookLoad
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(30);

    private sealed record Arrival(DateTimeOffset At, string Id, string Timestamp, string Signature, string Body);

    private sealed record Event(string Id, string Type, long MediaId, DateTimeOffset At, DateTimeOffset OccurredAt, bool SignatureValid);

    /// <summary>Runs the phases; <paramref name="label"/> names the configuration: the first columns of the output lines
    /// (it may hold '|'), and, letters and digits only, the owners.</summary>
    public static async Task<int> RunAsync(string api, string adminKey, string label, int items, int concurrency, double pacedRate, int pacedCount)
    {
        var received = new ConcurrentQueue<Arrival>();
        await using var receiver = await StartReceiverAsync(received);
        var port = new Uri(receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        var failures = new List<string>();

        using var admin = Client(api, adminKey, 2);
        var run = $"{System.Text.RegularExpressions.Regex.Replace(label, "[^A-Za-z0-9]+", "-").Trim('-')}-{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}";
        using var hooked = Client(api, await NewKeyAsync(admin, $"wh-{run}"), concurrency);
        using var plain = Client(api, await NewKeyAsync(admin, $"nohooks-{run}"), concurrency);

        using var subscribed = await hooked.PostAsJsonAsync("/webhooks", new { url = $"http://127.0.0.1:{port}/hooks", events = new[] { "*" }, description = "webhook-bench" });
        if (subscribed.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"POST /webhooks answered {(int)subscribed.StatusCode}: {await subscribed.Content.ReadAsStringAsync()}");
        }

        var subscription = await subscribed.Content.ReadFromJsonAsync<JsonElement>();
        var subscriptionId = subscription.GetProperty("id").GetInt64();
        var secret = subscription.GetProperty("secret").GetString()!;
        Progress(label, $"receiver on 127.0.0.1:{port}, subscription {subscriptionId}");

        // Upload: the baseline owner's items first (no events reach the receiver), then the subscribed owner's.
        var plainIds = await UploadAllAsync(plain, items, concurrency, "plain", failures);
        var clock = Stopwatch.StartNew();
        var hookedIds = await UploadAllAsync(hooked, items, concurrency, "hooked", failures);
        Progress(label, $"uploaded {plainIds.Count} + {hookedIds.Count} items ({clock.Elapsed.TotalSeconds:0.0} s for the subscribed owner's)");
        var expected = new HashSet<(long, string)>();
        foreach (var id in hookedIds)
        {
            expected.UnionWith([(id, "media.created"), (id, "media.stored"), (id, "media.processed")]);
        }

        await WaitForAsync(received, expected, label, "upload", hooked, subscriptionId, failures);
        await WaitProcessedAsync(plain, plainIds);

        // Baseline: the same load on an owner without subscriptions, after a warm-up of the PATCH path.
        await PatchAllAsync(plain, [.. plainIds.Take(Math.Min(20, plainIds.Count))], concurrency, "warm-up", failures);
        await Task.Delay(1000);
        var baseline = await PatchAllAsync(plain, plainIds, concurrency, "baseline", failures);
        await Task.Delay(1000);

        var withHooks = await PatchAllAsync(hooked, hookedIds, concurrency, "patch", failures);
        var patchExpected = new HashSet<(long, string)>(expected);
        patchExpected.UnionWith(withHooks.Patched.Select(id => (id, "media.updated")));
        await WaitForAsync(received, patchExpected, label, "patch", hooked, subscriptionId, failures);
        var afterPatch = received.Count;

        // Paced: the first pacedCount items once more, at pacedRate a second (open loop: a slow answer does not slow the rate).
        var pacedIds = hookedIds.Take(Math.Min(pacedCount, hookedIds.Count)).ToList();
        var paced = await PacedAsync(hooked, pacedIds, pacedRate, failures);
        var pacedExpected = new HashSet<(long, string)>(patchExpected);
        var pacedUpdates = paced.Patched.Count;
        await WaitForAsync(received, pacedExpected, label, "paced", hooked, subscriptionId, failures, extraUpdates: pacedUpdates);
        await Task.Delay(2000); // a late duplicate (a retried attempt whose answer was lost) still counts

        // Analysis: every arrival parsed, checked and given to its phase.
        var arrivals = received.ToArray();
        var events = arrivals.Select(a => Parse(a, secret)).ToList();
        var firstArrival = events.GroupBy(e => e.Id).Select(g => g.MinBy(e => e.At)!).ToList();
        var badSignatures = events.Count(e => !e.SignatureValid);
        var hookedSet = hookedIds.ToHashSet();
        var foreign = firstArrival.Count(e => !hookedSet.Contains(e.MediaId));
        if (badSignatures > 0)
        {
            failures.Add($"{badSignatures} requests with a signature that does not verify");
        }

        if (foreign > 0)
        {
            failures.Add($"{foreign} events of items the subscription does not cover (the owner without a subscription, or unknown)");
        }

        // The phase of an arrival: upload events by type; updates by arrival order (the paced phase starts after the
        // patch phase's last update arrived).
        var afterPatchIds = arrivals.Take(afterPatch).Select(a => a.Id).ToHashSet();
        string PhaseOf(Event e) => e.Type == "media.updated" ? (afterPatchIds.Contains(e.Id) ? "patch" : "paced") : "upload";
        var byPhase = firstArrival.GroupBy(PhaseOf).ToDictionary(g => g.Key, g => g.ToList());
        var expectedCounts = new Dictionary<string, int>
        {
            ["upload"] = 3 * hookedIds.Count,
            ["patch"] = withHooks.Patched.Count,
            ["paced"] = pacedUpdates,
        };
        var duplicatesByPhase = events.GroupBy(e => e.Id).Where(g => g.Count() > 1).GroupBy(g => PhaseOf(g.First())).ToDictionary(g => g.Key, g => g.Sum(x => x.Count() - 1));
        foreach (var phase in new[] { "upload", "patch", "paced" })
        {
            var list = byPhase.GetValueOrDefault(phase) ?? [];
            var lags = list.Select(e => (e.At - e.OccurredAt).TotalMilliseconds).Order().ToList();
            var span = list.Count > 1 ? (list.Max(e => e.At) - list.Min(e => e.At)).TotalSeconds : double.NaN;
            var made = list.Count > 1 ? (list.Max(e => e.OccurredAt) - list.Min(e => e.OccurredAt)).TotalSeconds : double.NaN;
            if (list.Count != expectedCounts[phase])
            {
                failures.Add($"{phase}: {expectedCounts[phase]} events expected, {list.Count} delivered");
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"delivery|{label}|{phase}|{expectedCounts[phase]}|{list.Count}|{duplicatesByPhase.GetValueOrDefault(phase)}|{list.Count / made:0}|{list.Count / span:0}|{Percentile(lags, 0.50):0}|{Percentile(lags, 0.99):0}|{(lags.Count > 0 ? lags[^1] : double.NaN):0}"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"patch|{label}|{baseline.Latencies.Count}|{Percentile(baseline.Latencies, 0.50):0.0}|{Percentile(baseline.Latencies, 0.99):0.0}|{withHooks.Latencies.Count}|{Percentile(withHooks.Latencies, 0.50):0.0}|{Percentile(withHooks.Latencies, 0.99):0.0}|{Percentile(withHooks.Latencies, 0.50) / Percentile(baseline.Latencies, 0.50):0.00}|{Percentile(withHooks.Latencies, 0.99) / Percentile(baseline.Latencies, 0.99):0.00}|{baseline.Rate:0}|{withHooks.Rate:0}|{Percentile(paced.Latencies, 0.50):0.0}|{Percentile(paced.Latencies, 0.99):0.0}"));

        foreach (var failure in failures)
        {
            Console.Error.WriteLine($"[{label}] FAILED: {failure}");
        }

        return failures.Count == 0 ? 0 : 1;
    }

    private static async Task<WebApplication> StartReceiverAsync(ConcurrentQueue<Arrival> received)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Run(async context =>
        {
            var at = DateTimeOffset.UtcNow;
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            received.Enqueue(new Arrival(at, context.Request.Headers["webhook-id"].ToString(), context.Request.Headers["webhook-timestamp"].ToString(),
                context.Request.Headers["webhook-signature"].ToString(), body));
            context.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        await app.StartAsync();
        return app;
    }

    private static Event Parse(Arrival arrival, string secret)
    {
        using var json = JsonDocument.Parse(arrival.Body);
        var root = json.RootElement;
        var valid = long.TryParse(arrival.Timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp)
            && WebhookSignature.Verify(secret, arrival.Id, timestamp, Encoding.UTF8.GetBytes(arrival.Body), arrival.Signature);
        return new Event(arrival.Id, root.GetProperty("type").GetString()!, root.GetProperty("data").GetProperty("id").GetInt64(), arrival.At,
            DateTimeOffset.Parse(root.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind), valid);
    }

    // Waits until every expected (item, type) has arrived at least once, plus extraUpdates more media.updated events
    // than the expected set names (an item patched twice has two); fails after 30 s without a new arrival.
    private static async Task WaitForAsync(ConcurrentQueue<Arrival> received, HashSet<(long, string)> expected, string label, string phase,
        HttpClient owner, long subscriptionId, List<string> failures, int extraUpdates = 0)
    {
        var expectedUpdates = expected.Count(e => e.Item2 == "media.updated") + extraUpdates;
        var clock = Stopwatch.StartNew();
        var (lastCount, lastChange) = (-1, TimeSpan.Zero);
        while (true)
        {
            var arrivals = received.ToArray();
            var seen = new HashSet<(long, string)>();
            var updates = new HashSet<string>();
            foreach (var a in arrivals)
            {
                using var json = JsonDocument.Parse(a.Body);
                var type = json.RootElement.GetProperty("type").GetString()!;
                seen.Add((json.RootElement.GetProperty("data").GetProperty("id").GetInt64(), type));
                if (type == "media.updated")
                {
                    updates.Add(a.Id);
                }
            }

            var missing = expected.Where(e => !seen.Contains(e)).ToList();
            if (missing.Count == 0 && updates.Count >= expectedUpdates)
            {
                Progress(label, $"{phase}: all {seen.Count} (item, type) pairs and {updates.Count} updates arrived ({arrivals.Length} requests) after {clock.Elapsed.TotalSeconds:0.0} s");
                return;
            }

            if (arrivals.Length != lastCount)
            {
                (lastCount, lastChange) = (arrivals.Length, clock.Elapsed);
            }
            else if (clock.Elapsed - lastChange > Idle)
            {
                var message = $"{phase}: nothing arrived for {Idle.TotalSeconds:0} s; {missing.Count} (item, type) pairs missing "
                    + $"(first: {string.Join(", ", missing.Take(5).Select(m => $"{m.Item1} {m.Item2}"))}), {updates.Count}/{expectedUpdates} updates";
                failures.Add(message);
                Console.Error.WriteLine($"[{label}] {message}");
                foreach (var status in new[] { "pending", "failed" })
                {
                    Console.Error.WriteLine($"[{label}] GET /webhooks/{subscriptionId}/deliveries?status={status}&limit=5: "
                        + await owner.GetStringAsync($"/webhooks/{subscriptionId}/deliveries?status={status}&limit=5"));
                }

                return;
            }

            await Task.Delay(100);
        }
    }

    private static async Task<List<long>> UploadAllAsync(HttpClient http, int count, int concurrency, string name, List<string> failures)
    {
        var ids = new ConcurrentBag<long>();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            for (var i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                var text = new StringBuilder();
                while (text.Length < 1024)
                {
                    text.Append(CultureInfo.InvariantCulture, $"webhook bench {name} item {i}, line {text.Length / 40}.\n");
                }

                using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(text.ToString(0, 1024)));
                content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
                using var response = await http.PostAsync($"/media/upload?filename={name}-{i}.txt", content);
                if (response.StatusCode != HttpStatusCode.Created)
                {
                    var problem = await response.Content.ReadAsStringAsync();
                    lock (failures)
                    {
                        failures.Add($"upload {name}-{i} answered {(int)response.StatusCode}: {problem}");
                    }

                    continue;
                }

                ids.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());
            }
        }));
        return [.. ids.Order()];
    }

    // The baseline owner's items have no webhook to say they are processed: polls them (processing would otherwise take
    // CPU from the baseline's patches).
    private static async Task WaitProcessedAsync(HttpClient http, List<long> ids)
    {
        foreach (var id in ids)
        {
            for (var tries = 0; tries < 600; tries++)
            {
                var item = await http.GetFromJsonAsync<JsonElement>($"/media/{id}");
                if (!item.TryGetProperty("processing", out var p) || p.GetProperty("status").GetString() != "processing")
                {
                    break;
                }

                await Task.Delay(100);
            }
        }
    }

    private sealed record PatchRun(List<double> Latencies, List<long> Patched, double Rate);

    private static async Task<PatchRun> PatchAllAsync(HttpClient http, List<long> ids, int concurrency, string phase, List<string> failures)
    {
        var latencies = new List<double>();
        var patched = new List<long>();
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            for (var i = Interlocked.Increment(ref next); i < ids.Count; i = Interlocked.Increment(ref next))
            {
                var (ok, ms) = await PatchAsync(http, ids[i], $"{phase} {i}", failures);
                if (ok)
                {
                    lock (latencies)
                    {
                        latencies.Add(ms);
                        patched.Add(ids[i]);
                    }
                }
            }
        }));
        latencies.Sort();
        return new PatchRun(latencies, patched, latencies.Count / clock.Elapsed.TotalSeconds);
    }

    private static async Task<PatchRun> PacedAsync(HttpClient http, List<long> ids, double rate, List<string> failures)
    {
        var latencies = new List<double>();
        var patched = new List<long>();
        var clock = Stopwatch.StartNew();
        var sent = new List<Task>();
        for (var i = 0; i < ids.Count; i++)
        {
            var due = TimeSpan.FromSeconds(i / rate) - clock.Elapsed;
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due);
            }

            var (id, n) = (ids[i], i);
            sent.Add(Task.Run(async () =>
            {
                var (ok, ms) = await PatchAsync(http, id, $"paced {n}", failures);
                if (ok)
                {
                    lock (latencies)
                    {
                        latencies.Add(ms);
                        patched.Add(id);
                    }
                }
            }));
        }

        await Task.WhenAll(sent);
        latencies.Sort();
        return new PatchRun(latencies, patched, latencies.Count / clock.Elapsed.TotalSeconds);
    }

    private static async Task<(bool Ok, double Ms)> PatchAsync(HttpClient http, long id, string title, List<string> failures)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"/media/{id}/metadata")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { title }), Encoding.UTF8),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/merge-patch+json");
        var started = Stopwatch.GetTimestamp();
        using var response = await http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var problem = await response.Content.ReadAsStringAsync();
            lock (failures)
            {
                failures.Add($"PATCH /media/{id}/metadata ({title}) answered {(int)response.StatusCode}: {problem}");
            }

            return (false, ms);
        }

        return (true, ms);
    }

    private static async Task<string> NewKeyAsync(HttpClient admin, string owner)
    {
        using var made = await admin.PostAsJsonAsync("/admin/keys", new { owner });
        if (made.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"POST /admin/keys answered {(int)made.StatusCode}: {await made.Content.ReadAsStringAsync()}");
        }

        return (await made.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
    }

    private static HttpClient Client(string api, string key, int connections)
    {
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections + 2 }) { BaseAddress = new Uri(api), Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    // Nearest rank, as bench/MediaBench/Load.cs.
    private static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];

    private static void Progress(string label, string message) => Console.Error.WriteLine($"[{label}] {message}");
}
