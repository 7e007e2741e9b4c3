using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MediaService.DataPlane.Webhooks;
using MediaService.Grains.Webhooks;
using MediaService.IntegrationTests.Infrastructure;
using MediaService.Tests;
using Microsoft.Extensions.Options;
using Orleans.TestingHost;
using Xunit.Abstractions;

namespace MediaService.IntegrationTests;

/// <summary>A cluster whose webhooks retry fast (0.2 s, 0.5 s, 1 s), a frontend, and a real receiver, for one class.</summary>
public sealed class WebhookDeliveryFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; private set; } = null!;

    public FrontendFactory Frontend { get; private set; } = null!;

    public WebhookReceiver Receiver { get; private set; } = null!;

    public string ServiceId { get; } = $"media-webhooks-{Guid.NewGuid():N}";

    public async Task InitializeAsync()
    {
        Receiver = await WebhookReceiver.StartAsync();
        Cluster = await MediaTestCluster.StartAsync(ServiceId, silos: 2, settings: new Dictionary<string, string>
        {
            ["Reminders:MinimumReminderPeriod"] = "00:00:01",
            ["Webhooks:ReminderPeriod"] = "00:00:02",
            ["Webhooks:RetrySchedule:0"] = "00:00:00.200",
            ["Webhooks:RetrySchedule:1"] = "00:00:00.500",
            ["Webhooks:RetrySchedule:2"] = "00:00:01",
            ["Webhooks:DeliveryTimeout"] = "00:00:05",
            // Running out of attempts disables at once (a healthy receiver never runs out here).
            ["Webhooks:DisableAfter"] = "00:00:00",
        });
        Frontend = new FrontendFactory(Cluster.Options.ClusterId, ServiceId, new Dictionary<string, string?>
        {
            ["Webhooks:RotationOverlap"] = "00:00:03",
            ["Tus:Expiry"] = "00:00:03",
        });
    }

    public async Task DisposeAsync()
    {
        await Frontend.DisposeAsync();
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        await Receiver.DisposeAsync();
    }

    /// <summary>A client of a new owner of its own (each test's events reach only its own subscriptions).</summary>
    public async Task<HttpClient> OwnerAsync(string owner)
    {
        using var admin = Frontend.CreateHttpClient(Frontend.AdminKey);
        using var made = await admin.PostAsJsonAsync("/admin/keys", new { owner });
        Assert.Equal(HttpStatusCode.Created, made.StatusCode);
        return Frontend.CreateHttpClient((await made.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString());
    }
}

/// <summary>
/// Webhook delivery end to end: items of a real cluster change, their events reach a real HTTP receiver, signed as
/// Standard Webhooks specifies (checked by npm's standardwebhooks), in version order per item, retried with the same id,
/// without one slow receiver delaying another owner's, and the owner sees every attempt.
/// </summary>
public sealed class WebhookDeliveryTests(WebhookDeliveryFixture fixture, ITestOutputHelper output) : IClassFixture<WebhookDeliveryFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private async Task<(long Id, string Secret)> SubscribeAsync(HttpClient owner, string path, params string[] events)
    {
        using var response = await owner.PostAsJsonAsync("/webhooks", new { url = fixture.Receiver.Url(path), events = events.Length > 0 ? events : ["*"] });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("id").GetInt64(), body.GetProperty("secret").GetString()!);
    }

    private Task<IReadOnlyList<ReceivedWebhook>> ArrivedAsync(string path, Func<IReadOnlyList<ReceivedWebhook>, bool> enough, string what) =>
        Eventually.HoldsAsync(() => Task.FromResult(fixture.Receiver.On(path)), enough, Wait, what);

    private static JsonElement Json(ReceivedWebhook r) => JsonDocument.Parse(r.Body).RootElement;

    private static async Task<long> PatchTitleAsync(HttpClient http, long id, string title)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"/media/{id}/metadata") { Content = new StringContent(JsonSerializer.Serialize(new { title })) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/merge-patch+json");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt64();
    }

    [Fact]
    public async Task EveryEventOfAnItemArrivesSignedAndInVersionOrder()
    {
        using var owner = await fixture.OwnerAsync("wh-order");
        var (_, secret) = await SubscribeAsync(owner, "order");
        var png = MediaCorpus.Image(64, 48, new SixLabors.ImageSharp.Formats.Png.PngEncoder());

        var id = await MediaFiles.UploadAsync(owner, png, "chart.png", "image/png");
        var processed = await MediaFiles.ProcessedAsync(owner, id);
        var patched = await PatchTitleAsync(owner, id, "A chart");
        using var deleted = await owner.DeleteAsync($"/media/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);

        var received = await ArrivedAsync("order", r => r.Any(x => Json(x).GetProperty("type").GetString() == "media.deleted"), "the delete's event");
        var events = received.DistinctBy(r => r.Id).Select(Json).ToList();
        Assert.Equal(["media.created", "media.stored", "media.processed", "media.updated", "media.deleted"],
            events.Select(e => e.GetProperty("type").GetString()));
        Assert.All(events, e => Assert.Equal(id, e.GetProperty("data").GetProperty("id").GetInt64()));
        var versions = events.Select(e => e.GetProperty("data").GetProperty("version").GetInt64()).ToList();
        Assert.Equal(versions.Order(), versions); // created and stored share the write of a one-shot upload
        Assert.Equal(patched, versions[3]);
        var stored = events[1].GetProperty("data");
        Assert.Equal(png.Length, stored.GetProperty("size").GetInt64());
        Assert.Equal(Payloads.Sha256(png), stored.GetProperty("sha256").GetString());
        var ready = events[2].GetProperty("data");
        Assert.Equal("ready", ready.GetProperty("status").GetString());
        Assert.Equal(64, ready.GetProperty("facts").GetProperty("width").GetInt32());
        Assert.Equal(MediaFiles.RenditionNames(processed).Order(), ready.GetProperty("renditions").EnumerateArray().Select(r => r.GetProperty("name").GetString()!).Order());
        Assert.Equal(["title"], events[3].GetProperty("data").GetProperty("changed").EnumerateArray().Select(c => c.GetString()));
        Assert.All(received, r => Assert.StartsWith("evt_", r.Id));

        var verdicts = await WebhookVerifier.VerifyAsync(received, secret);
        Assert.All(verdicts, v => Assert.Equal("ok", v));
        var wrong = await WebhookVerifier.VerifyAsync(received, WebhookTargets.NewSecret());
        Assert.All(wrong, v => Assert.StartsWith("refused", v));
        output.WriteLine($"{received.Count} deliveries, {verdicts.Length} signatures accepted by standardwebhooks, {wrong.Length} refused with another secret");
    }

    [Fact]
    public async Task AReceiverAnswering500ThenOkGetsTheSameWebhookIdTwice()
    {
        using var owner = await fixture.OwnerAsync("wh-retry");
        fixture.Receiver.Behave("retry", n => Task.FromResult(n == 1 ? 500 : 200));
        var (subscription, _) = await SubscribeAsync(owner, "retry", "media.created");

        var id = await MediaFiles.UploadAsync(owner, Encoding.UTF8.GetBytes("hello"), "a.txt", "text/plain");

        var received = await ArrivedAsync("retry", r => r.Count >= 2, "the retry");
        Assert.Equal(received[0].Id, received[1].Id);
        Assert.Equal(received[0].Body, received[1].Body);
        Assert.Equal(id, Json(received[0]).GetProperty("data").GetProperty("id").GetInt64());
        var log = await Eventually.HoldsAsync(() => owner.GetFromJsonAsync<JsonElement>($"/webhooks/{subscription}/deliveries"),
            l => l.GetProperty("items")[0].GetProperty("status").GetString() == "delivered", Wait, "the log showing the delivery");
        var delivery = log.GetProperty("items")[0];
        Assert.Equal(received[0].Id, delivery.GetProperty("eventId").GetString());
        Assert.Equal(2, delivery.GetProperty("attempts").GetInt32());
        var attempts = delivery.GetProperty("recentAttempts").EnumerateArray().ToList();
        Assert.Equal([200, 500], attempts.Select(a => a.GetProperty("statusCode").GetInt32()));
        Assert.All(attempts, a => Assert.True(a.GetProperty("latencyMs").GetInt32() >= 0));
        Assert.Contains("500", attempts[1].GetProperty("error").GetString());
        Assert.Equal(2, fixture.Receiver.On("retry").Count); // delivered (no longer pending): never sent a third time
    }

    [Fact]
    public async Task ASlowReceiverDoesNotDelayAnotherOwnersDeliveries()
    {
        using var slowOwner = await fixture.OwnerAsync("wh-slow");
        using var fastOwner = await fixture.OwnerAsync("wh-fast");
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fixture.Receiver.Behave("slow", async _ =>
        {
            await gate.Task;
            return 204;
        });
        await SubscribeAsync(slowOwner, "slow", "media.created");
        await SubscribeAsync(fastOwner, "fast", "media.created");
        try
        {
            var slowItems = new List<long>();
            for (var i = 0; i < 12; i++)
            {
                slowItems.Add(await MediaFiles.UploadAsync(slowOwner, Encoding.UTF8.GetBytes($"slow {i}"), $"s{i}.txt", "text/plain"));
            }

            await ArrivedAsync("slow", r => r.Count >= 1, "the slow receiver's first request");
            var clock = Stopwatch.StartNew();
            var fastId = await MediaFiles.UploadAsync(fastOwner, Encoding.UTF8.GetBytes("fast"), "f.txt", "text/plain");

            var fast = await ArrivedAsync("fast", r => r.Count >= 1, "the other owner's event");
            Assert.False(gate.Task.IsCompleted);
            Assert.Equal(fastId, Json(fast[0]).GetProperty("data").GetProperty("id").GetInt64());
            var held = fixture.Receiver.On("slow").Count;
            Assert.InRange(held, 1, 4); // the slow subscription's own concurrency
            output.WriteLine($"the other owner's event arrived {clock.ElapsedMilliseconds} ms after its upload, while {held} requests waited at the slow receiver");

            gate.SetResult();
            var slow = await ArrivedAsync("slow", r => r.Select(x => x.Id).Distinct().Count() >= slowItems.Count, "every slow event once the receiver answers");
            Assert.Equal(slowItems.Order(), slow.DistinctBy(r => r.Id).Select(r => Json(r).GetProperty("data").GetProperty("id").GetInt64()).Order());
        }
        finally
        {
            gate.TrySetResult();
        }
    }

    [Fact]
    public async Task DuringTheOverlapBothSecretsSignAndAfterItOnlyTheNewOne()
    {
        using var owner = await fixture.OwnerAsync("wh-rotate");
        var (subscription, old) = await SubscribeAsync(owner, "rotate", "media.created");
        using var rotated = await owner.PostAsync($"/webhooks/{subscription}/rotate", null);
        var fresh = (await rotated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;

        await MediaFiles.UploadAsync(owner, Encoding.UTF8.GetBytes("during"), "d.txt", "text/plain");
        var during = (await ArrivedAsync("rotate", r => r.Count >= 1, "the event during the overlap"))[0];
        await Task.Delay(TimeSpan.FromSeconds(3.5)); // the overlap is 3 s here
        await MediaFiles.UploadAsync(owner, Encoding.UTF8.GetBytes("after"), "a.txt", "text/plain");
        var after = (await ArrivedAsync("rotate", r => r.Select(x => x.Id).Distinct().Count() >= 2, "the event after the overlap")).Last();

        Assert.Equal(2, during.Signature.Split(' ').Length);
        Assert.Single(after.Signature.Split(' '));
        static (string, string, long, string, string) Check(string secret, ReceivedWebhook r) =>
            (secret, r.Id, long.Parse(r.Timestamp, System.Globalization.CultureInfo.InvariantCulture), r.Signature, r.Body);
        var verdicts = await WebhookVerifier.VerifyAsync([Check(fresh, during), Check(old, during), Check(fresh, after), Check(old, after)]);
        Assert.Equal("ok", verdicts[0]);
        Assert.Equal("ok", verdicts[1]);
        Assert.Equal("ok", verdicts[2]);
        Assert.StartsWith("refused", verdicts[3]);
    }

    [Fact]
    public async Task AReceiverAnswering410DisablesTheSubscriptionUntilTheOwnerEnablesIt()
    {
        using var owner = await fixture.OwnerAsync("wh-gone");
        fixture.Receiver.Behave("gone", _ => Task.FromResult(410));
        var (subscription, _) = await SubscribeAsync(owner, "gone", "media.created");
        // A second subscription of the owner: once it has an item's event, that item's hand-off (one statement for every
        // subscription of the owner) has run, so what the first did not get by then was not queued for it.
        await SubscribeAsync(owner, "gone-witness", "media.created");

        await MediaFiles.UploadAsync(owner, Encoding.UTF8.GetBytes("one"), "1.txt", "text/plain");
        var disabled = await Eventually.HoldsAsync(() => owner.GetFromJsonAsync<JsonElement>($"/webhooks/{subscription}"),
            s => s.GetProperty("status").GetString() == "disabled", Wait, "the subscription disabled");
        Assert.Contains("410", disabled.GetProperty("disabledReason").GetString());
        Assert.Single(fixture.Receiver.On("gone"));

        // Disabled: new events are not queued for it.
        var second = await MediaFiles.UploadAsync(owner, Encoding.UTF8.GetBytes("two"), "2.txt", "text/plain");
        await ArrivedAsync("gone-witness", r => r.Any(x => Json(x).GetProperty("data").GetProperty("id").GetInt64() == second), "the second item's hand-off");
        Assert.Single(fixture.Receiver.On("gone"));
        Assert.Equal(0, (await owner.GetFromJsonAsync<JsonElement>($"/webhooks/{subscription}")).GetProperty("pendingDeliveries").GetInt64());

        fixture.Receiver.Behave("gone", _ => Task.FromResult(204));
        using var enable = await owner.PatchAsJsonAsync($"/webhooks/{subscription}", new { enabled = true });
        Assert.Equal(HttpStatusCode.OK, enable.StatusCode);
        Assert.Equal("enabled", (await enable.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        var third = await MediaFiles.UploadAsync(owner, Encoding.UTF8.GetBytes("three"), "3.txt", "text/plain");
        var arrived = await ArrivedAsync("gone", r => r.Count >= 2, "an event after enabling");
        Assert.Equal(third, Json(arrived[^1]).GetProperty("data").GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task PersistentFailureDisablesTheSubscriptionAndARedeliverySendsTheSameEventAgain()
    {
        using var owner = await fixture.OwnerAsync("wh-fail");
        fixture.Receiver.Behave("fail", _ => Task.FromResult(503));
        var (subscription, _) = await SubscribeAsync(owner, "fail", "media.created");

        await MediaFiles.UploadAsync(owner, Encoding.UTF8.GetBytes("doomed"), "d.txt", "text/plain");
        var disabled = await Eventually.HoldsAsync(() => owner.GetFromJsonAsync<JsonElement>($"/webhooks/{subscription}"),
            s => s.GetProperty("status").GetString() == "disabled", Wait, "the subscription disabled after its attempts");
        Assert.Contains("No successful delivery", disabled.GetProperty("disabledReason").GetString());
        var log = await owner.GetFromJsonAsync<JsonElement>($"/webhooks/{subscription}/deliveries?status=failed");
        var delivery = log.GetProperty("items").EnumerateArray().Single();
        Assert.Equal(4, delivery.GetProperty("attempts").GetInt32()); // the first and three retries
        Assert.All(delivery.GetProperty("recentAttempts").EnumerateArray(), a => Assert.Equal(503, a.GetProperty("statusCode").GetInt32()));
        var first = fixture.Receiver.On("fail");
        Assert.Equal(4, first.Count);
        Assert.Single(first.Select(r => r.Id).Distinct());

        var deliveryId = delivery.GetProperty("id").GetInt64();
        using var refused = await owner.PostAsync($"/webhooks/{subscription}/deliveries/{deliveryId}/redeliver", null);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        fixture.Receiver.Behave("fail", _ => Task.FromResult(204));
        using var enable = await owner.PatchAsJsonAsync($"/webhooks/{subscription}", new { enabled = true });
        using var redeliver = await owner.PostAsync($"/webhooks/{subscription}/deliveries/{deliveryId}/redeliver", null);
        Assert.Equal(HttpStatusCode.Accepted, redeliver.StatusCode);

        var again = await ArrivedAsync("fail", r => r.Count >= 5, "the redelivery");
        Assert.Equal(first[0].Id, again[4].Id);
        Assert.Equal(first[0].Body, again[4].Body);
        var after = await Eventually.HoldsAsync(() => owner.GetFromJsonAsync<JsonElement>($"/webhooks/{subscription}/deliveries"),
            l => l.GetProperty("items")[0].GetProperty("status").GetString() == "delivered", Wait, "the redelivery logged");
        Assert.True(after.GetProperty("items")[0].GetProperty("recentAttempts")[0].GetProperty("manual").GetBoolean());
    }

    [Fact]
    public async Task AnUnfinishedUploadThatExpiresSendsUploadExpired()
    {
        using var owner = await fixture.OwnerAsync("wh-expire");
        await SubscribeAsync(owner, "expire", "upload.expired");

        using var created = await Tus.CreateAsync(owner, 100, $"filename {Tus.Base64("half.bin")}", body: new byte[40]);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = Tus.IdOf(created.Headers.Location!.ToString());

        var expired = Json((await ArrivedAsync("expire", r => r.Count >= 1, "upload.expired"))[0]);
        Assert.Equal("upload.expired", expired.GetProperty("type").GetString());
        Assert.Equal(id, expired.GetProperty("data").GetProperty("id").GetInt64());
        Assert.Equal(40, expired.GetProperty("data").GetProperty("receivedBytes").GetInt64());
        Assert.Equal("half.bin", expired.GetProperty("data").GetProperty("fileName").GetString());
    }

    [Fact]
    public async Task AnotherOwnerCanNeitherReadNorRedeliverASubscriptionsDeliveries()
    {
        using var owner = await fixture.OwnerAsync("wh-mine");
        using var other = await fixture.OwnerAsync("wh-theirs");
        var (subscription, _) = await SubscribeAsync(owner, "mine", "media.created");
        await MediaFiles.UploadAsync(owner, Encoding.UTF8.GetBytes("mine"), "m.txt", "text/plain");
        var log = await Eventually.HoldsAsync(() => owner.GetFromJsonAsync<JsonElement>($"/webhooks/{subscription}/deliveries"),
            l => l.GetProperty("items").GetArrayLength() == 1, Wait, "the delivery logged");
        var deliveryId = log.GetProperty("items")[0].GetProperty("id").GetInt64();

        using var read = await other.GetAsync($"/webhooks/{subscription}/deliveries");
        using var redeliver = await other.PostAsync($"/webhooks/{subscription}/deliveries/{deliveryId}/redeliver", null);
        using var patch = await other.PatchAsJsonAsync($"/webhooks/{subscription}", new { enabled = true });
        using var bad = await owner.GetAsync($"/webhooks/{subscription}/deliveries?status=lost");

        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, redeliver.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, patch.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        // The other owner's items reach none of this owner's subscriptions.
        // Once the other owner's own subscription has the event, the item's hand-off has run.
        await SubscribeAsync(other, "theirs", "media.created");
        var theirs = await MediaFiles.UploadAsync(other, Encoding.UTF8.GetBytes("theirs"), "t.txt", "text/plain");
        await ArrivedAsync("theirs", r => r.Any(x => Json(x).GetProperty("data").GetProperty("id").GetInt64() == theirs), "the other owner's hand-off");
        Assert.Single(fixture.Receiver.On("mine"));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    public async Task ADeliveryToAnInternalAddressIsRefusedWhereItConnects(string host)
    {
        // The silos' sender with the default (private targets refused), against a receiver that is really there.
        using var sender = new WebhookSender(Options.Create(new WebhookOptions { AllowPrivateTargets = false }), TimeProvider.System);
        var url = new Uri($"http://{host}:{fixture.Receiver.Port}/ssrf-{host}");

        var sent = await sender.SendAsync(new WebhookAttempt(url, "evt_ssrf", "{}", [WebhookTargets.NewSecret()], TimeSpan.FromSeconds(5)), default);

        Assert.Null(sent.Answer.StatusCode);
        Assert.Contains("internal addresses", sent.Answer.Error);
        Assert.Empty(fixture.Receiver.On($"ssrf-{host}"));
        using var allowed = new WebhookSender(Options.Create(new WebhookOptions { AllowPrivateTargets = true }), TimeProvider.System);
        Assert.Equal(204, (await allowed.SendAsync(new WebhookAttempt(url, "evt_ssrf", "{}", [WebhookTargets.NewSecret()], TimeSpan.FromSeconds(5)), default)).Answer.StatusCode);
    }
}
