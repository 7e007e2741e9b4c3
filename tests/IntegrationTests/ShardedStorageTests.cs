using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.DataPlane.Sharding;
using MediaService.IntegrationTests.Infrastructure;
using Npgsql;

namespace MediaService.IntegrationTests;

/// <summary>
/// Items' state routed over two databases (the test PostgreSQL's own and a second one, <c>Storage:Shards</c>): each
/// item's state row is in the database of its logical shard and nowhere else, and every item reads back, byte for byte,
/// after the whole cluster is stopped and a new one started on the same databases; a database that does not answer
/// fails only its own items' writes, with 503 and <c>Retry-After</c>, and they work again once it answers.
/// </summary>
public sealed class ShardedStorageTests
{
    [Fact]
    public async Task EachItemsStateLivesOnItsShardsDatabaseAndSurvivesAClusterRestart()
    {
        var second = Assert.Single(TestEnvironment.ShardDatabases);
        var serviceId = $"media-shards-{Guid.NewGuid():N}";
        var shards = new Dictionary<string, string>
        {
            ["Storage:Shards:db0"] = TestEnvironment.ConnectionString,
            ["Storage:Shards:db1"] = TestEnvironment.ConnectionStringFor(second),
        };
        var map = ShardMap.Seed(["db0", "db1"]);
        var bodies = new Dictionary<long, byte[]>();

        var cluster = await MediaTestCluster.StartAsync(serviceId, silos: 1, settings: shards);
        try
        {
            await using var frontend = new FrontendFactory(cluster.Options.ClusterId, serviceId);
            using var http = frontend.CreateHttpClient();
            for (var i = 0; i < 24; i++)
            {
                var body = Payloads.Random(1000 + i, seed: 400 + i);
                bodies[await MediaFiles.UploadAsync(http, body, $"s{i}.bin", "application/octet-stream")] = body;
            }
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }

        // Where the rows are: the count of this service's state rows in each database is the count of items whose shard
        // that database holds, so each row is where its shard is (and only there: the two counts add up to the items).
        var expected = bodies.Keys.GroupBy(id => map.Route(id).Database).ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.Equal(2, expected.Count); // 24 random ids: both databases hold some (a 2^-23 chance of a false failure)
        Assert.Equal(expected.GetValueOrDefault("db0"), await StateRowsAsync(TestEnvironment.ConnectionString, serviceId));
        Assert.Equal(expected.GetValueOrDefault("db1"), await StateRowsAsync(TestEnvironment.ConnectionStringFor(second), serviceId));

        var again = await MediaTestCluster.StartAsync(serviceId, silos: 1, settings: shards);
        try
        {
            await using var frontend = new FrontendFactory(again.Options.ClusterId, serviceId);
            using var http = frontend.CreateHttpClient();
            foreach (var (id, body) in bodies)
            {
                var metadata = await http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata");
                Assert.Equal("stored", metadata.GetProperty("status").GetString());
                Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await http.GetByteArrayAsync($"/media/{id}/content")));
            }

            // And a change after the restart is written where the item lives.
            var (first, _) = bodies.First();
            using var deleted = await http.DeleteAsync($"/media/{first}");
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        finally
        {
            await again.StopAllSilosAsync();
            await again.DisposeAsync();
        }
    }

    [Fact]
    public async Task ADatabaseThatDoesNotAnswerFailsOnlyItsOwnItemsWith503()
    {
        var second = Assert.Single(TestEnvironment.ShardDatabases);
        var direct = new Npgsql.NpgsqlConnectionStringBuilder(TestEnvironment.ConnectionStringFor(second));
        await using var relay = new TcpProxy(new Uri($"http://{direct.Host}:{direct.Port}"));
        var proxied = new Npgsql.NpgsqlConnectionStringBuilder(direct.ConnectionString) { Host = "127.0.0.1", Port = relay.Address.Port, Timeout = 3 };
        var serviceId = $"media-shards-{Guid.NewGuid():N}";
        var map = ShardMap.Seed(["db0", "db1"]);
        var cluster = await MediaTestCluster.StartAsync(serviceId, silos: 1, settings: new Dictionary<string, string>
        {
            ["Storage:Shards:db0"] = TestEnvironment.ConnectionString,
            ["Storage:Shards:db1"] = proxied.ConnectionString,
            ["Postgres:BreakerBreakDuration"] = "00:00:02",
        });
        try
        {
            await using var frontend = new FrontendFactory(cluster.Options.ClusterId, serviceId);
            using var http = frontend.CreateHttpClient();
            var ids = new List<long>();
            for (var i = 0; i < 16; i++)
            {
                ids.Add(await MediaFiles.UploadAsync(http, Payloads.Random(500, seed: 600 + i), $"o{i}.bin", "application/octet-stream"));
            }

            var onSecond = ids.Where(id => map.Route(id).Database == "db1").ToList();
            var onFirst = ids.Except(onSecond).ToList();
            Assert.NotEmpty(onSecond);
            Assert.NotEmpty(onFirst);

            relay.Cut(); // db1's connections are reset and new ones refused
            foreach (var id in onSecond)
            {
                using var refused = await PatchAsync(http, id, "during the outage");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                Assert.NotNull(refused.Headers.RetryAfter);
            }

            foreach (var id in onFirst)
            {
                using var changed = await PatchAsync(http, id, "during the outage");
                Assert.Equal(HttpStatusCode.OK, changed.StatusCode); // its own database, its own breaker
            }

            relay.Restore();
            foreach (var id in onSecond)
            {
                await Eventually.HoldsAsync(async () =>
                {
                    using var again = await PatchAsync(http, id, "after the outage");
                    return again.StatusCode;
                }, status => status == HttpStatusCode.OK, TimeSpan.FromSeconds(30), $"item {id} writable again");
                var metadata = await http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata");
                Assert.Equal("after the outage", metadata.GetProperty("title").GetString());
            }
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    private static async Task<HttpResponseMessage> PatchAsync(HttpClient http, long id, string title)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"/media/{id}/metadata")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { title })),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/merge-patch+json");
        return await http.SendAsync(request);
    }

    private static async Task<long> StateRowsAsync(string connectionString, string serviceId)
    {
        await using var data = NpgsqlDataSource.Create(connectionString);
        await using var command = data.CreateCommand("SELECT count(*) FROM OrleansStorage WHERE ServiceId = @s");
        command.Parameters.AddWithValue("s", serviceId);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
