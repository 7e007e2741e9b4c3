using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MediaService.Grains.Interfaces;
using MediaService.IntegrationTests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace MediaService.IntegrationTests;

/// <summary>
/// The index misses a write (its row refuses it, by a trigger on that one item) and the silo that made the state write
/// is killed before any retry: the index still catches up, through the item's durable reminder, within a bounded time.
/// </summary>
public sealed class IndexCatchUpTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TheIndexCatchesUpAfterTheSiloIsKilledBetweenTheStateWriteAndTheIndexWrite()
    {
        var serviceId = $"media-index-{Guid.NewGuid():N}";
        var retry = TimeSpan.FromSeconds(3);
        var cluster = await MediaTestCluster.StartAsync(serviceId, silos: 2, fastDeathDetection: true, settings: new Dictionary<string, string>
        {
            ["Reminders:MinimumReminderPeriod"] = "00:00:01",
            ["Metadata:IndexRetryPeriod"] = retry.ToString(),
        });
        NpgsqlDataSource? data = null;
        string? trigger = null;
        try
        {
            await using var frontend = new FrontendFactory(cluster.Options.ClusterId, serviceId);
            using var http = frontend.CreateHttpClient();
            var id = await MediaFiles.UploadAsync(http, Encoding.UTF8.GetBytes("text"), "a.txt", "text/plain");
            // The database of the item's shard holds its index row.
            data = NpgsqlDataSource.Create(await TestEnvironment.DatabaseOfAsync(serviceId, id));
            await MediaFiles.ProcessedAsync(http, id);
            Task<long?> IndexedAsync() => TestEnvironment.IndexedVersionAsync(serviceId, id);

            var indexed = await IndexedAsync();
            Assert.NotNull(indexed);

            // From now on the index refuses every write of this one item.
            trigger = $"refuse_{id}";
            await Execute(data, $"""
                CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'index write refused by the test'; END $$;
                CREATE TRIGGER {trigger} BEFORE INSERT OR UPDATE ON media_index FOR EACH ROW
                    WHEN (NEW.service_id = '{serviceId}' AND NEW.media_id = {id}) EXECUTE FUNCTION {trigger}();
                """);
            using var request = new HttpRequestMessage(HttpMethod.Patch, $"/media/{id}/metadata") { Content = new StringContent("""{"title":"After the crash"}""") };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/merge-patch+json");
            using var patch = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode); // the state is written: the answer does not wait for the index
            var version = (await patch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt64();
            Assert.Equal(indexed, await IndexedAsync());

            // The silo that holds the item dies before it retries; the index accepts writes again.
            var host = await cluster.Client.GetGrain<IManagementGrain>(0).GetActivationAddress(cluster.Client.GetGrain<IMediaItemGrain>(id));
            await cluster.KillSiloAsync(cluster.Silos.Single(s => s.SiloAddress.Equals(host)));
            var killed = Stopwatch.StartNew();
            await Execute(data, $"DROP TRIGGER {trigger} ON media_index; DROP FUNCTION {trigger}();");
            trigger = null;

            await Eventually.HoldsAsync(IndexedAsync, v => v == version, TimeSpan.FromSeconds(90), "the index catching up");
            output.WriteLine($"index caught up {killed.Elapsed.TotalSeconds:0.0} s after the kill (retry period {retry.TotalSeconds} s)");
            var search = await http.GetFromJsonAsync<JsonElement>("/media?q=crash");
            Assert.Equal([id], search.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()));
        }
        finally
        {
            if (trigger is not null && data is not null)
            {
                await Execute(data, $"DROP TRIGGER IF EXISTS {trigger} ON media_index; DROP FUNCTION IF EXISTS {trigger}();");
            }

            if (data is not null)
            {
                await data.DisposeAsync();
            }

            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    private static async Task Execute(NpgsqlDataSource data, string sql)
    {
        await using var command = data.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }
}
