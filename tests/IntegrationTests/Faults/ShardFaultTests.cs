using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MediaService.DataPlane.Sharding;
using MediaService.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace MediaService.IntegrationTests.Faults;

/// <summary>
/// Shards in two PostgreSQL clusters of their own (db0 with the control database in the first, db1 in the second), real
/// silos and frontends behind nginx. The second cluster is crashed (<c>pg_ctl -m immediate</c>) under mixed traffic:
/// db1's items answer 503 with Retry-After (never 500, never a hang), db0's items, search (flagged partial) and new
/// uploads (placed on db0) keep working, <c>/admin/storage</c> says db1 is down; once it is back, every item is
/// writable again, search is complete, and every item reads back byte for byte.
/// </summary>
[Collection(FaultSuiteCollection.Name)]
public sealed class ShardFaultTests(ITestOutputHelper output)
{
    [Fact]
    public async Task StoppingOneClusterFailsOnlyItsItemsWith503AndAllRecover()
    {
        await using var stack = await FaultStack.StartAsync(silos: 2, frontends: 1, new Dictionary<string, string?>
        {
            ["Postgres:BreakerBreakDuration"] = "00:00:02",
            ["RateLimits:Enabled"] = "false",
        }, shardCluster: true);
        using var http = stack.Client(TimeSpan.FromSeconds(30));
        using var admin = new HttpClient { BaseAddress = stack.Entry, Timeout = TimeSpan.FromSeconds(30) };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", stack.AdminKey);
        var map = ShardMap.Seed(["db0", "db1"]);
        var bodies = new ConcurrentDictionary<long, byte[]>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 40), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        {
            var body = Payloads.Random(2_000 + i, seed: 1880 + i);
            bodies[await UploadAsync(http, body)] = body;
        });
        var on = bodies.Keys.ToLookup(id => map.Route(id).Database);
        output.WriteLine($"40 items: db0 {on["db0"].Count()}, db1 {on["db1"].Count()}");
        Assert.NotEmpty(on["db0"]);
        Assert.NotEmpty(on["db1"]);

        await stack.ShardPostgresStopAsync();
        var outage = Stopwatch.StartNew();
        var results = new ConcurrentBag<(string What, TimeSpan At, int Status, bool RetryAfter, string Detail)>();
        try
        {
            // 15 s of mixed traffic: writes to items of both databases, searches, new uploads, readiness.
            var random = new Random(18);
            var n = 0;
            while (outage.Elapsed < TimeSpan.FromSeconds(15))
            {
                var db0 = on["db0"].ElementAt(random.Next(on["db0"].Count()));
                var db1 = on["db1"].ElementAt(random.Next(on["db1"].Count()));
                await Task.WhenAll(
                    RecordAsync("write db0", () => Patch(db0, n)),
                    RecordAsync("write db1", () => Patch(db1, n)),
                    RecordAsync("search", () => new HttpRequestMessage(HttpMethod.Get, "/media?limit=50")),
                    RecordAsync("upload", () => new HttpRequestMessage(HttpMethod.Post, "/media/upload?filename=o.bin") { Content = Payloads.OctetStream(Payloads.Random(500, seed: 1890 + n)) }),
                    RecordAsync("ready", () => new HttpRequestMessage(HttpMethod.Get, "/health/ready")));
                n++;
            }

            var storage = await admin.GetFromJsonAsync<JsonElement>("/admin/storage?fresh=true");
            var health = storage.GetProperty("databases").EnumerateArray().ToDictionary(d => d.GetProperty("name").GetString()!, d => d.GetProperty("health").GetString());
            Assert.Equal("up", health["db0"]);
            Assert.Equal("down", health["db1"]);
        }
        finally
        {
            await stack.ShardPostgresStartAsync();
        }

        foreach (var group in results.GroupBy(r => r.What).OrderBy(g => g.Key))
        {
            output.WriteLine($"{group.Key}: {string.Join(", ", group.GroupBy(r => r.Status).OrderBy(s => s.Key).Select(s => $"{s.Key} x{s.Count()}"))}");
        }

        Assert.All(results, r => Assert.True(r.Status < 500 || (r.Status == 503 && r.RetryAfter), $"{r.What} at {r.At.TotalSeconds:0.0} s: {r.Status} {r.Detail}"));
        Assert.All(results.Where(r => r.What == "write db1"), r => Assert.True(r.Status == 503, $"write db1: {r.Status} {r.Detail}"));
        Assert.All(results.Where(r => r.What is "write db0" or "ready"), r => Assert.True(r.Status == 200, $"{r.What}: {r.Status} {r.Detail}"));
        Assert.All(results.Where(r => r.What == "search"), r => Assert.True(r.Status == 200 && r.Detail.Contains("\"partial\":true", StringComparison.Ordinal),
            $"search: {r.Status} {r.Detail[..Math.Min(200, r.Detail.Length)]}"));
        // New uploads are placed on db0 once this frontend's probe saw db1 down (Storage:ProbeInterval), and before that
        // a creation db1 refused is placed again elsewhere: every one is stored.
        Assert.All(results.Where(r => r.What == "upload"), r => Assert.True(r.Status == 201, $"upload at {r.At.TotalSeconds:0.0} s: {r.Status} {r.Detail}"));

        // Back: every item writable, search complete, every byte as it was.
        var recovered = Stopwatch.StartNew();
        await Eventually.HoldsAsync(async () =>
        {
            var statuses = await Task.WhenAll(on["db1"].Select(async id => (await http.SendAsync(Patch(id, -1))).StatusCode));
            return statuses.All(s => s == HttpStatusCode.OK);
        }, ok => ok, TimeSpan.FromSeconds(30), "every db1 item writable again");
        await Eventually.HoldsAsync(async () => await http.GetFromJsonAsync<JsonElement>("/media?limit=50"), p => !p.TryGetProperty("partial", out _),
            TimeSpan.FromSeconds(20), "search complete again");
        output.WriteLine($"recovered {recovered.Elapsed.TotalSeconds:0.0} s after the cluster restarted");
        foreach (var (id, body) in bodies)
        {
            Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await http.GetByteArrayAsync($"/media/{id}/content")));
        }

        async Task RecordAsync(string what, Func<HttpRequestMessage> request)
        {
            using var message = request();
            var at = outage.Elapsed;
            using var answer = await http.SendAsync(message);
            results.Add((what, at, (int)answer.StatusCode, answer.Headers.RetryAfter is not null, await answer.Content.ReadAsStringAsync()));
        }

        static HttpRequestMessage Patch(long id, int n) => new(HttpMethod.Patch, $"/media/{id}/metadata")
        {
            Content = new StringContent($$"""{"title":"outage {{n}}"}""", Encoding.UTF8, "application/merge-patch+json"),
        };
    }

    private static async Task<long> UploadAsync(HttpClient http, byte[] body)
    {
        using var response = await http.PostAsync("/media/upload?filename=s.bin", Payloads.OctetStream(body));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }
}
