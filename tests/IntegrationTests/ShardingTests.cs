using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MediaService.DataPlane.Sharding;
using MediaService.IntegrationTests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace MediaService.IntegrationTests;

/// <summary>
/// Sharded storage on the two databases every suite runs on (db0, which is the control database too, and db1): the
/// databases compute an item's shard as the service does; search pages merged from both databases neither skip nor
/// repeat while items arrive and change; a logical shard moved from db0 to db1 keeps every item byte for byte with its
/// versions, its items answer 503 with Retry-After only while it moves, and the other items are not disturbed;
/// <c>GET /admin/storage</c> shows the layout, for admins only.
/// </summary>
public sealed class ShardingTests(ITestOutputHelper output)
{
    private static Dictionary<string, string> Shards()
    {
        Assert.True(TestEnvironment.StorageDatabases.Count >= 2, "./test.sh runs every suite on two storage databases (PG_SHARD_DBS).");
        return TestEnvironment.StorageDatabases.ToDictionary(d => $"Storage:Shards:{d.Key}", d => d.Value);
    }

    [Fact]
    public async Task TheDatabaseComputesTheSameShardAsTheService()
    {
        var random = new Random(18);
        long[] ids = [.. Enumerable.Range(0, 1000).Select(_ => random.NextInt64(1, 1L << 53)), (1L << 53) - 1, 1, 65536, 63L << 16];
        await using var data = NpgsqlDataSource.Create(TestEnvironment.ConnectionString);
        await using var command = data.CreateCommand($"SELECT id, {ShardSql.ShardOf("id")} FROM unnest(@ids) AS t(id)");
        command.Parameters.AddWithValue("ids", ids);
        await using var reader = await command.ExecuteReaderAsync();
        var count = 0;
        while (await reader.ReadAsync())
        {
            Assert.Equal(ShardKey.Of(reader.GetInt64(0)), (int)reader.GetInt64(1));
            count++;
        }

        Assert.Equal(ids.Length, count);
    }

    [Fact]
    public async Task SearchPagesMergeWithoutSkippingOrRepeatingWhileItemsArrive()
    {
        var serviceId = $"media-merge-{Guid.NewGuid():N}";
        var cluster = await MediaTestCluster.StartAsync(serviceId, silos: 1, settings: Shards());
        try
        {
            await using var frontend = new FrontendFactory(cluster.Options.ClusterId, serviceId);
            using var http = frontend.CreateHttpClient();
            var tag = $"w{Guid.NewGuid():N}"[..12];
            var before = new ConcurrentBag<long>();
            await Parallel.ForEachAsync(Enumerable.Range(0, 60), new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (i, _) =>
                before.Add(await ItemAsync(http, Payloads.Random(200 + i, seed: 1800 + i), $$"""{"title":"walk item {{i}}","tags":["{{tag}}"]}""")));
            var spread = before.GroupBy(id => ShardMap.Seed(["db0", "db1"]).Route(id).Database).ToDictionary(g => g.Key, g => g.Count());
            output.WriteLine($"60 items: {string.Join(", ", spread.OrderBy(s => s.Key).Select(s => $"{s.Key} {s.Value}"))}");
            Assert.Equal(2, spread.Count);

            foreach (var query in new[] { $"tag={tag}&limit=7", $"tag={tag}&q=walk&sort=relevance&limit=7" })
            {
                // While the walk goes on, items arrive (newer than the walk's start: never shown) and titles change.
                using var stop = new CancellationTokenSource();
                var arrivals = Task.Run(async () =>
                {
                    var n = 0;
                    while (!stop.IsCancellationRequested)
                    {
                        await ItemAsync(http, Payloads.Random(300 + n, seed: 1900 + n), $$"""{"title":"walk late {{n}}","tags":["{{tag}}"]}""");
                        await PatchAsync(http, before.ElementAt(n % before.Count), $$"""{"description":"changed {{n}}"}""");
                        n++;
                    }
                });
                var seen = new List<long>();
                string? next = $"/media?{query}";
                var pages = 0;
                while (next is not null)
                {
                    var page = await http.GetFromJsonAsync<JsonElement>(next);
                    Assert.False(page.TryGetProperty("partial", out _), "both databases answer: the page is complete");
                    seen.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()));
                    next = page.TryGetProperty("next", out var link) && link.ValueKind == JsonValueKind.String ? link.GetString() : null;
                    pages++;
                    await Task.Delay(30);
                }

                await stop.CancelAsync();
                await arrivals;
                output.WriteLine($"{query}: {pages} pages, {seen.Count} items");
                Assert.Equal(seen.Count, seen.Distinct().Count()); // no item twice
                Assert.Empty(before.Except(seen)); // every item that existed when the walk began, once
            }
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task AMovedShardKeepsEveryItemAndOnlyItsItemsWaitForTheMove()
    {
        var serviceId = $"media-move-{Guid.NewGuid():N}";
        var cluster = await MediaTestCluster.StartAsync(serviceId, silos: 2, settings: Shards());
        try
        {
            await using var frontend = new FrontendFactory(cluster.Options.ClusterId, serviceId);
            using var http = frontend.CreateHttpClient();
            using var admin = frontend.CreateHttpClient(frontend.AdminKey);
            var bodies = new ConcurrentDictionary<long, byte[]>();
            await Parallel.ForEachAsync(Enumerable.Range(0, 128), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            {
                var body = Payloads.Random(500 + i, seed: 1850 + i);
                bodies[await MediaFiles.UploadAsync(http, body, $"m{i}.bin", "application/octet-stream")] = body;
            });

            // The shard of db0 (even shards, as seeded) with the most items moves to db1.
            var shard = bodies.Keys.GroupBy(ShardKey.Of).Where(g => g.Key % 2 == 0).OrderByDescending(g => g.Count()).First().Key;
            var moving = bodies.Keys.Where(id => ShardKey.Of(id) == shard).ToList();
            Assert.True(moving.Count >= 2, $"shard {shard} holds {moving.Count} items");
            await PatchAsync(http, moving[0], """{"title":"moved with its shard"}""");
            var metadata = new Dictionary<long, (long Version, string? ETag)>();
            foreach (var id in moving)
            {
                metadata[id] = await VersionAsync(http, id);
            }

            // Traffic during the move: one of the shard's items polled, and uploads and reads of the other shards.
            using var stop = new CancellationTokenSource();
            var polled = new ConcurrentBag<(HttpStatusCode Status, bool RetryAfter)>();
            var poller = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    using var response = await http.GetAsync($"/media/{moving[0]}/metadata");
                    polled.Add((response.StatusCode, response.Headers.RetryAfter is not null));
                    await Task.Delay(50);
                }
            });
            var others = new ConcurrentBag<HttpStatusCode>();
            var created = new ConcurrentBag<long>();
            var uploader = Task.Run(async () =>
            {
                var n = 0;
                while (!stop.IsCancellationRequested)
                {
                    var content = new ByteArrayContent(Payloads.Random(100, seed: 1870 + n++));
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                    using var response = await http.PostAsync("/media/upload?filename=during.bin", content);
                    others.Add(response.StatusCode);
                    if (response.StatusCode == HttpStatusCode.Created)
                    {
                        created.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());
                    }

                    var other = bodies.Keys.First(id => ShardKey.Of(id) != shard);
                    using var read = await http.GetAsync($"/media/{other}/metadata");
                    others.Add(read.StatusCode);
                }
            });

            var clock = Stopwatch.StartNew();
            using var started = await admin.PostAsJsonAsync($"/admin/storage/shards/{shard}/move", new { to = "db1" });
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            var move = await started.Content.ReadFromJsonAsync<JsonElement>();
            var moveId = move.GetProperty("id").GetInt64();
            var steps = new List<string>();
            string? last = null;
            var done = await Eventually.HoldsAsync(async () =>
            {
                var view = await admin.GetFromJsonAsync<JsonElement>($"/admin/storage/moves/{moveId}");
                var step = view.GetProperty("step").GetString()!;
                if (step != last)
                {
                    steps.Add($"{step} at {clock.Elapsed.TotalSeconds:0.0} s");
                    last = step;
                }

                return view;
            }, v => v.TryGetProperty("finishedAt", out var f) && f.ValueKind != JsonValueKind.Null, TimeSpan.FromSeconds(90), "the move to end");
            output.WriteLine($"move of shard {shard} ({moving.Count} items): {string.Join(" -> ", steps)}; rows {done.GetProperty("rows")}");
            Assert.Equal("done", done.GetProperty("step").GetString());

            // The shard's items answer again (each client retries after Retry-After), other traffic never stopped.
            await Eventually.HoldsAsync(async () => (await http.GetAsync($"/media/{moving[0]}/metadata")).StatusCode, s => s == HttpStatusCode.OK,
                TimeSpan.FromSeconds(20), "the moved item to answer");
            await stop.CancelAsync();
            await Task.WhenAll(poller, uploader);
            var statuses = polled.GroupBy(p => p.Status).ToDictionary(g => g.Key, g => g.Count());
            output.WriteLine($"the moved item during the move: {string.Join(", ", statuses.Select(s => $"{(int)s.Key} x{s.Value}"))}; " +
                $"other items and uploads: {string.Join(", ", others.GroupBy(s => s).Select(g => $"{(int)g.Key} x{g.Count()}"))}");
            Assert.All(polled, p => Assert.True(p.Status == HttpStatusCode.OK || (p.Status == HttpStatusCode.ServiceUnavailable && p.RetryAfter), $"{p.Status}"));
            Assert.Contains(polled, p => p.Status == HttpStatusCode.ServiceUnavailable);
            Assert.All(others, s => Assert.True(s is HttpStatusCode.OK or HttpStatusCode.Created, $"{s}"));

            // The shard's items: those uploaded before, and any upload of the run placed there (before the drain reached
            // every process, then copied; or after the switch, in db1).
            var onShard = moving.Concat(created.Where(id => ShardKey.Of(id) == shard)).ToHashSet();
            var copied = done.GetProperty("rows").GetProperty("orleansstorage").GetInt64();
            Assert.InRange(copied, moving.Count, onShard.Count);
            Assert.InRange(done.GetProperty("rows").GetProperty("media_index").GetInt64(), moving.Count, onShard.Count);

            // Every item as before: versions (ETags) and bytes. A silo that has not read the map since the switch (at most
            // Storage:MapRefresh) still refuses with 503 and Retry-After; a client retries, and so does this.
            foreach (var id in moving)
            {
                var answered = await Eventually.HoldsAsync(() => VersionOrRefusalAsync(http, id), v => v is not null,
                    TimeSpan.FromSeconds(10), $"item {id} to answer after the move");
                Assert.Equal(metadata[id], answered!.Value);
                Assert.Equal(Payloads.Sha256(bodies[id]), Payloads.Sha256(await http.GetByteArrayAsync($"/media/{id}/content")));
            }

            // The rows are in db1 only; db0 keeps a fence.
            var (db0, db1) = (TestEnvironment.StorageDatabases["db0"], TestEnvironment.StorageDatabases["db1"]);
            // (An index row of an item created there while the shard drained may still be on its way: its reminder.)
            var (stateRows, indexRows) = await RowsAsync(db1, serviceId, shard);
            Assert.Equal(onShard.Count, stateRows);
            Assert.InRange(indexRows, moving.Count, onShard.Count);
            Assert.Equal((0, 0), await RowsAsync(db0, serviceId, shard));
            Assert.Equal(1L, await ScalarAsync(db0, $"SELECT count(*) FROM shard_fences WHERE service_id = '{serviceId}' AND shard = {shard}"));

            // A change after the move is written in db1 and found by search, once.
            var after = await PatchAsync(http, moving[0], """{"title":"moved and changed"}""");
            Assert.Equal(after, await ScalarAsync(db1, $"SELECT version FROM media_index WHERE service_id = '{serviceId}' AND media_id = {moving[0]}"));
            var found = await http.GetFromJsonAsync<JsonElement>("/media?q=changed");
            Assert.Equal([moving[0]], found.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()));

            // The admin view: 64 shards, the moved one on db1; not for a user's key.
            var storage = await admin.GetFromJsonAsync<JsonElement>("/admin/storage?fresh=true");
            Assert.Equal(64, storage.GetProperty("shards").GetArrayLength());
            var row = storage.GetProperty("shards").EnumerateArray().Single(s => s.GetProperty("shard").GetInt32() == shard);
            Assert.Equal("db1", row.GetProperty("database").GetString());
            Assert.InRange(row.GetProperty("items").GetInt64(), moving.Count, onShard.Count);
            Assert.All(storage.GetProperty("databases").EnumerateArray(), d => Assert.Equal("up", d.GetProperty("health").GetString()));
            Assert.InRange(storage.GetProperty("databases").EnumerateArray().Sum(d => d.GetProperty("items").GetInt64()),
                bodies.Count + created.Count - (onShard.Count - moving.Count), bodies.Count + created.Count);
            Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync("/admin/storage")).StatusCode);

            // The same shard cannot move where it is.
            using var again = await admin.PostAsJsonAsync($"/admin/storage/shards/{shard}/move", new { to = "db1" });
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
            using var unknown = await admin.PostAsJsonAsync($"/admin/storage/shards/{shard}/move", new { to = "nowhere" });
            Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    private static async Task<long> ItemAsync(HttpClient http, byte[] body, string annotations)
    {
        var id = await MediaFiles.UploadAsync(http, body, "w.bin", "application/octet-stream");
        await PatchAsync(http, id, annotations);
        return id;
    }

    private static async Task<long> PatchAsync(HttpClient http, long id, string patch)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"/media/{id}/metadata") { Content = new StringContent(patch, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/merge-patch+json");
        using var response = await http.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"PATCH {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt64();
    }

    private static async Task<(long Version, string? ETag)> VersionAsync(HttpClient http, long id)
    {
        using var response = await http.GetAsync($"/media/{id}/metadata");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return ((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt64(), response.Headers.ETag?.Tag);
    }

    // The version and ETag, or null for a 503 with Retry-After (anything else fails).
    private static async Task<(long Version, string? ETag)?> VersionOrRefusalAsync(HttpClient http, long id)
    {
        using var response = await http.GetAsync($"/media/{id}/metadata");
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable && response.Headers.RetryAfter is not null)
        {
            return null;
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return ((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt64(), response.Headers.ETag?.Tag);
    }

    private static async Task<(long State, long Index)> RowsAsync(string connectionString, string serviceId, int shard) =>
        (await ScalarAsync(connectionString, $"SELECT count(*) FROM orleansstorage WHERE serviceid = '{serviceId}' AND {ShardSql.ShardOf("grainidn1")} = {shard}"),
         await ScalarAsync(connectionString, $"SELECT count(*) FROM media_index WHERE service_id = '{serviceId}' AND {ShardSql.ShardOf("media_id")} = {shard}"));

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var data = NpgsqlDataSource.Create(connectionString);
        await using var command = data.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
