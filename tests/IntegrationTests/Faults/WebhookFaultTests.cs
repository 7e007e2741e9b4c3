using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace MediaService.IntegrationTests.Faults;

/// <summary>
/// Webhooks under silo kills: real silo processes are SIGKILLed while items are uploaded and changed and their events
/// are being delivered to a real receiver. Every change a client was told about must arrive at least once, with one id
/// (duplicates carry the same id and body), in version order per item, and no event may arrive for a change that was
/// not made. <c>WEBHOOK_FAULT_ITEMS</c> (default 60) makes longer runs.
/// </summary>
[Collection(FaultSuiteCollection.Name)]
public sealed class WebhookFaultTests(ITestOutputHelper output)
{
    // A change a client was told about: its event must carry a version from MinVersion to Version. A change answered at
    // once is that version exactly; one answered after failed tries (a silo died) may have been made by an earlier try,
    // whose answer was lost; the try that answered then changed nothing (the same title again) and made no event.
    private sealed record Told(long Id, string Type, long Version, long MinVersion);

    // The metadata, waiting out 503s (the answer while the cluster still takes a killed silo for alive), which are
    // written to the output.
    private async Task<JsonElement> MetadataAsync(HttpClient http, long id)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var response = await http.GetAsync($"/media/{id}/metadata");
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == 30)
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return await response.Content.ReadFromJsonAsync<JsonElement>();
            }

            output.WriteLine($"item {id}: 503 (Retry-After {response.Headers.RetryAfter}): {await response.Content.ReadAsStringAsync()}");
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public async Task EveryEventArrivesAtLeastOnceWithItsIdWhenSilosAreKilled()
    {
        var items = int.TryParse(Environment.GetEnvironmentVariable("WEBHOOK_FAULT_ITEMS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 60;
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var stack = await FaultStack.StartAsync(silos: 2, frontends: 1, new Dictionary<string, string?>
        {
            ["Webhooks:AllowPrivateTargets"] = "true",
            ["Reminders:MinimumReminderPeriod"] = "00:00:01",
            ["Webhooks:ReminderPeriod"] = "00:00:02",
            ["Metadata:IndexRetryPeriod"] = "00:00:03",
            ["Webhooks:RetrySchedule:0"] = "00:00:00.200",
            ["Webhooks:RetrySchedule:1"] = "00:00:01",
            ["Webhooks:RetrySchedule:2"] = "00:00:02",
            ["Webhooks:RetrySchedule:3"] = "00:00:05",
            ["Webhooks:RetrySchedule:4"] = "00:00:10",
            ["Webhooks:WakeTimeout"] = "00:00:01",
            ["RateLimits:Enabled"] = "false",
            ["Postgres:BreakerBreakDuration"] = "00:00:02",
            // Each event's birth and hand-off, in the silo logs (printed when an event is missing).
            ["Logging:LogLevel:MediaService.Grains.MediaItemGrain"] = "Debug",
        });
        // The receiver takes 100 ms per request, so that deliveries queue up and are in flight when a silo dies.
        receiver.Behave("kill", async _ =>
        {
            await Task.Delay(100);
            return 204;
        });
        using var http = stack.Client(TimeSpan.FromSeconds(20));
        using var subscribed = await http.PostAsJsonAsync("/webhooks", new { url = receiver.Url("kill"), events = new[] { "*" } });
        Assert.Equal(HttpStatusCode.Created, subscribed.StatusCode);
        var subscription = (await subscribed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();

        // What clients were told: an item stored (201), a title changed (200, with the version it made).
        var told = new ConcurrentBag<Told>();
        var failures = 0;
        var load = Task.Run(async () =>
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, items), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
            {
                long id, last;
                using (var content = new ByteArrayContent(Encoding.UTF8.GetBytes($"item {i}")))
                {
                    content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
                    try
                    {
                        using var created = await http.PostAsync($"/media/upload?filename=i{i}.txt", content);
                        if (created.StatusCode != HttpStatusCode.Created)
                        {
                            Interlocked.Increment(ref failures);
                            return;
                        }

                        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
                        id = body.GetProperty("id").GetInt64();
                        last = body.GetProperty("version").GetInt64();
                        told.Add(new Told(id, "media.stored", last, last));
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                        Interlocked.Increment(ref failures);
                        return;
                    }
                }

                for (var p = 0; p < 3; p++)
                {
                    for (var attempt = 0; attempt < 20; attempt++)
                    {
                        try
                        {
                            using var request = new HttpRequestMessage(HttpMethod.Patch, $"/media/{id}/metadata")
                            {
                                Content = new StringContent(JsonSerializer.Serialize(new { title = $"item {i} patch {p}" })),
                            };
                            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/merge-patch+json");
                            using var patched = await http.SendAsync(request);
                            if (patched.StatusCode == HttpStatusCode.OK)
                            {
                                var version = (await patched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt64();
                                told.Add(new Told(id, "media.updated", version, attempt == 0 ? version : last + 1));
                                last = version;
                                break;
                            }

                            Interlocked.Increment(ref failures);
                        }
                        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                        {
                            Interlocked.Increment(ref failures);
                        }

                        await Task.Delay(500);
                    }
                }
            });
        });

        // Kill a silo as soon as deliveries flow, and the other a few seconds later, while deliveries are pending.
        await using var data = NpgsqlDataSource.Create(stack.ConnectionString);
        async Task<(long Queued, long Pending)> QueueAsync()
        {
            await using var command = data.CreateCommand(
                "SELECT count(*), count(*) FILTER (WHERE status <> 'delivered') FROM webhook_deliveries WHERE subscription_id = @s");
            command.Parameters.AddWithValue("s", subscription);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            return (reader.GetInt64(0), reader.GetInt64(1));
        }

        await Eventually.HoldsAsync(() => Task.FromResult(receiver.On("kill").Count), c => c >= 5, TimeSpan.FromSeconds(60), "the first deliveries");
        for (var kill = 0; kill < 2; kill++)
        {
            var (queued, pending) = await QueueAsync();
            output.WriteLine($"kill {kill + 1}: SIGKILL of a silo with {receiver.On("kill").Count} requests received, {queued} deliveries queued, {pending} pending");
            await stack.KillSiloAsync(0); // the oldest: both silos of the start die, whichever held the subscription's grain
            await Task.Delay(TimeSpan.FromSeconds(2));
        }

        await load;

        var expected = told.ToList();
        Assert.True(expected.Count(t => t.Type == "media.stored") >= items * 3 / 4, $"too few uploads succeeded ({failures} failed requests)");
        static bool Seen(HashSet<(long, string?, long)> seen, Told t)
        {
            for (var v = t.MinVersion; v <= t.Version; v++)
            {
                if (seen.Contains((t.Id, t.Type, v)))
                {
                    return true;
                }
            }

            return false;
        }

        bool Covered(IReadOnlyList<ReceivedWebhook> got)
        {
            var seen = got.Select(r => JsonDocument.Parse(r.Body).RootElement)
                .Select(e => (e.GetProperty("data").GetProperty("id").GetInt64(), e.GetProperty("type").GetString(), e.GetProperty("data").GetProperty("version").GetInt64()))
                .ToHashSet();
            return expected.All(t => Seen(seen, t));
        }

        IReadOnlyList<ReceivedWebhook> received;
        try
        {
            received = await Eventually.HoldsAsync(() => Task.FromResult(receiver.On("kill")), Covered, TimeSpan.FromMinutes(2),
                "every event a client was told about arriving");
        }
        catch (TimeoutException)
        {
            // What is missing, and where it is: queued (and how its delivery went) or not queued at all (still in an outbox).
            var seen = receiver.On("kill").Select(r => JsonDocument.Parse(r.Body).RootElement)
                .Select(e => (e.GetProperty("data").GetProperty("id").GetInt64(), e.GetProperty("type").GetString(), e.GetProperty("data").GetProperty("version").GetInt64()))
                .ToHashSet();
            foreach (var missing in expected.Where(t => !Seen(seen, t)).Take(10))
            {
                await using var command = data.CreateCommand(
                    "SELECT id, event_type, item_version, status, attempts, next_attempt_at, last_error FROM webhook_deliveries WHERE media_id = @m ORDER BY id");
                command.Parameters.AddWithValue("m", missing.Id);
                await using var reader = await command.ExecuteReaderAsync();
                var rows = new List<string>();
                while (await reader.ReadAsync())
                {
                    rows.Add($"#{reader.GetInt64(0)} {reader.GetString(1)} v{reader.GetInt64(2)} {reader.GetString(3)} x{reader.GetInt32(4)} next {reader.GetDateTime(5):HH:mm:ss.fff} {(reader.IsDBNull(6) ? "" : reader.GetString(6))}");
                }

                output.WriteLine($"missing {missing}; queued rows of the item: {string.Join(" | ", rows)}");
            }

            // Every silo's log lines about the first missing item, the killed silos' included.
            var first = expected.First(t => !Seen(seen, t)).Id.ToString(CultureInfo.InvariantCulture);
            foreach (var log in Directory.GetFiles(Path.GetTempPath(), $"silo-{stack.ServiceId}-*.log"))
            {
                var lines = await File.ReadAllLinesAsync(log);
                for (var i = 0; i < lines.Length; i++)
                {
                    if (lines[i].Contains(first, StringComparison.Ordinal))
                    {
                        output.WriteLine($"{Path.GetFileName(log)}: {(i > 0 ? lines[i - 1].Trim() + " " : "")}{lines[i].Trim()}");
                    }
                }
            }

            throw;
        }

        // And nothing still pending in the queue: the rest (processing ends, created events) arrives too.
        var queue = await Eventually.HoldsAsync(QueueAsync, q => q.Pending == 0, TimeSpan.FromMinutes(2), "every queued delivery delivered");
        received = receiver.On("kill");

        var byId = received.GroupBy(r => r.Id).ToList();
        Assert.All(byId, g => Assert.Single(g.Select(r => r.Body).Distinct())); // a duplicate is the same event, byte for byte
        Assert.Equal(queue.Queued, byId.Count); // every event queued arrived, and nothing arrived that was not queued
        var firsts = byId.Select(g => g.First()).Select(r => JsonDocument.Parse(r.Body).RootElement).ToList();
        foreach (var item in firsts.GroupBy(e => e.GetProperty("data").GetProperty("id").GetInt64()))
        {
            var versions = item.Select(e => e.GetProperty("data").GetProperty("version").GetInt64()).ToList();
            Assert.True(versions.SequenceEqual(versions.Order()), $"item {item.Key}: first arrivals out of version order: {string.Join(", ", versions)}");
            var metadata = await MetadataAsync(http, item.Key);
            Assert.True(versions.Max() <= metadata.GetProperty("version").GetInt64(), $"item {item.Key}: an event of a version it never had");
            Assert.Single(item, e => e.GetProperty("type").GetString() == "media.created");
            // An upload whose answer was lost with a silo may have been created and never stored: only stored ones say so.
            Assert.Equal(expected.Any(t => t.Id == item.Key && t.Type == "media.stored") ? 1 : 0,
                item.Count(e => e.GetProperty("type").GetString() == "media.stored" && expected.Any(t => t.Id == item.Key && t.Type == "media.stored")));
        }

        // Operators see it: the silos export the webhook instruments (Prometheus names). Both silos that saw the events
        // above were killed: a few more changes make the new ones count.
        var last = firsts.Select(e => e.GetProperty("data").GetProperty("id").GetInt64()).Distinct().Take(5).ToList();
        foreach (var id in last)
        {
            using var request = new HttpRequestMessage(HttpMethod.Patch, $"/media/{id}/metadata") { Content = new StringContent("""{"title":"after the kills"}""") };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/merge-patch+json");
            using var patched = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        }

        await Eventually.HoldsAsync(QueueAsync, q => q.Pending == 0 && q.Queued == queue.Queued + last.Count, TimeSpan.FromMinutes(1), "the last changes delivered");
        var exported = string.Join('\n', await Task.WhenAll(stack.Silos.Select(async silo =>
        {
            using var client = silo.Http();
            return await client.GetStringAsync("/metrics");
        })));
        foreach (var name in new[] { "media_webhooks_events_total", "media_webhooks_outbox_lag_seconds_bucket", "media_webhooks_attempts_total",
                     "media_webhooks_delivery_lag_seconds_bucket" })
        {
            Assert.True(exported.Contains(name, StringComparison.Ordinal), $"{name} is not among the silos' metrics");
        }

        var duplicates = received.Count - byId.Count;
        output.WriteLine($"events queued (produced): {queue.Queued}; delivered: {byId.Count} distinct ids in {received.Count} requests; " +
            $"duplicates received: {duplicates}; changes clients were told about: {expected.Count}; failed client requests (retried): {failures}");
    }
}
