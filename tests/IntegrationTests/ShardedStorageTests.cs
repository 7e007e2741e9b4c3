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
/// after the whole cluster is stopped and a new one started on the same databases.
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

    private static async Task<long> StateRowsAsync(string connectionString, string serviceId)
    {
        await using var data = NpgsqlDataSource.Create(connectionString);
        await using var command = data.CreateCommand("SELECT count(*) FROM OrleansStorage WHERE ServiceId = @s");
        command.Parameters.AddWithValue("s", serviceId);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
