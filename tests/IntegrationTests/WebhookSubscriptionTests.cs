using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace MediaService.IntegrationTests;

/// <summary>Webhook subscriptions through the real frontend and PostgreSQL: secrets, rotation, owners, SSRF. Made by an
/// owner of their own ("webhook-subs", who uploads nothing), so that the other tests' uploads queue no deliveries to
/// these made-up targets.</summary>
[Collection(MediaServiceCollection.Name)]
public sealed class WebhookSubscriptionTests(MediaServiceFixture fixture)
{
    private static object Subscription(string url = "http://127.0.0.1:9/hooks", params string[] events) =>
        new { url, events = events.Length > 0 ? events : new[] { "media.stored", "media.processed" }, description = "backend" };

    private async Task<JsonElement> CreateAsync(HttpClient client, object? body = null)
    {
        using var response = await client.PostAsJsonAsync("/webhooks", body ?? Subscription());
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<HttpClient> OtherOwnerAsync(string owner)
    {
        using var admin = fixture.Frontend.CreateHttpClient(fixture.Frontend.AdminKey);
        using var made = await admin.PostAsJsonAsync("/admin/keys", new { owner });
        return fixture.Frontend.CreateHttpClient((await made.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString());
    }

    [Fact]
    public async Task ASubscriptionShowsItsSecretOnceAndIsListedWithoutIt()
    {
        using var http = await OtherOwnerAsync("webhook-subs");
        var created = await CreateAsync(http);
        var id = created.GetProperty("id").GetInt64();
        var secret = created.GetProperty("secret").GetString()!;

        Assert.StartsWith("whsec_", secret);
        Assert.Equal(32, Convert.FromBase64String(secret["whsec_".Length..]).Length);
        var one = await http.GetFromJsonAsync<JsonElement>($"/webhooks/{id}");
        Assert.Equal("http://127.0.0.1:9/hooks", one.GetProperty("url").GetString());
        Assert.Equal(["media.stored", "media.processed"], one.GetProperty("events").EnumerateArray().Select(e => e.GetString()));
        Assert.False(one.TryGetProperty("secret", out _));
        var all = await http.GetFromJsonAsync<JsonElement>("/webhooks");
        Assert.Equal("enabled", one.GetProperty("status").GetString());
        Assert.Equal(0, one.GetProperty("pendingDeliveries").GetInt64());
        Assert.Contains(all.EnumerateArray(), s => s.GetProperty("id").GetInt64() == id && !s.TryGetProperty("secret", out _));

        using var deleted = await http.DeleteAsync($"/webhooks/{id}");
        using var gone = await http.GetAsync($"/webhooks/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task ARotationGivesANewSecretAndKeepsThePreviousOneForTheOverlap()
    {
        using var http = await OtherOwnerAsync("webhook-subs");
        var created = await CreateAsync(http);
        var id = created.GetProperty("id").GetInt64();

        using var rotated = await http.PostAsync($"/webhooks/{id}/rotate", null);

        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        var body = await rotated.Content.ReadFromJsonAsync<JsonElement>();
        Assert.NotEqual(created.GetProperty("secret").GetString(), body.GetProperty("secret").GetString());
        var until = body.GetProperty("previousSecretUntil").GetDateTimeOffset();
        Assert.InRange(until, DateTimeOffset.UtcNow.AddHours(23), DateTimeOffset.UtcNow.AddHours(25));
        // Both sign during the overlap, as the silos' delivery reads the subscription.
        var deliveries = new MediaService.DataPlane.Webhooks.WebhookDeliveries(fixture.Frontend.Services.GetRequiredService<Npgsql.NpgsqlDataSource>(),
            fixture.Frontend.Services.GetRequiredService<Polly.Registry.ResiliencePipelineProvider<string>>());
        var endpoint = (await deliveries.EndpointAsync(fixture.ServiceId, id, default))!;
        Assert.Equal([body.GetProperty("secret").GetString()!, created.GetProperty("secret").GetString()!], endpoint.SigningSecrets(DateTimeOffset.UtcNow));
        Assert.Equal([body.GetProperty("secret").GetString()!], endpoint.SigningSecrets(until.AddSeconds(1)));
    }

    [Fact]
    public async Task AnotherOwnerNeitherSeesNorTouchesASubscription()
    {
        using var http = await OtherOwnerAsync("webhook-subs");
        var id = (await CreateAsync(http)).GetProperty("id").GetInt64();
        using var other = await OtherOwnerAsync("webhook-other");

        using var get = await other.GetAsync($"/webhooks/{id}");
        using var delete = await other.DeleteAsync($"/webhooks/{id}");
        using var rotate = await other.PostAsync($"/webhooks/{id}/rotate", null);
        var list = await other.GetFromJsonAsync<JsonElement>("/webhooks");

        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, rotate.StatusCode);
        Assert.DoesNotContain(list.EnumerateArray(), s => s.GetProperty("id").GetInt64() == id);
        using var still = await http.GetAsync($"/webhooks/{id}");
        Assert.Equal(HttpStatusCode.OK, still.StatusCode);
    }

    [Theory]
    [InlineData("{\"url\":\"ftp://example.com/\",\"events\":[\"media.stored\"]}", "url")]
    [InlineData("{\"url\":\"https://user:pw@example.com/\",\"events\":[\"media.stored\"]}", "url")]
    [InlineData("{\"url\":\"http://127.0.0.1:9/\",\"events\":[]}", "events")]
    [InlineData("{\"url\":\"http://127.0.0.1:9/\",\"events\":[\"media.exploded\"]}", "events")]
    [InlineData("{\"url\":\"http://127.0.0.1:9/\",\"events\":[\"*\", \"all\"]}", "events")]
    [InlineData("{\"url\":\"http://does-not-resolve.invalid/\",\"events\":[\"media.stored\"]}", "url")]
    public async Task ABadSubscriptionIs400WithTheField(string json, string field)
    {
        using var response = await fixture.Http.PostAsync("/webhooks", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.GetRawText());
        Assert.Equal("webhook-invalid", problem.GetProperty("code").GetString());
    }

    [Fact]
    public async Task AnOwnersSubscriptionsAreBounded()
    {
        using var owner = await OtherOwnerAsync("webhook-many");
        for (var i = 0; i < 20; i++)
        {
            await CreateAsync(owner);
        }

        using var refused = await owner.PostAsJsonAsync("/webhooks", Subscription());

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080/hook")]
    [InlineData("http://localhost/hook")]
    [InlineData("http://10.0.0.5/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://[::1]/hook")]
    [InlineData("http://[fd00::1]/hook")]
    [InlineData("http://[::ffff:192.168.0.1]/hook")]
    public async Task InternalTargetsAreRefusedByDefault(string url)
    {
        await using var strict = new FrontendFactory(fixture.Cluster.Options.ClusterId, fixture.ServiceId,
            new Dictionary<string, string?> { ["Webhooks:AllowPrivateTargets"] = "false" });
        using var client = strict.CreateHttpClient();

        using var response = await client.PostAsJsonAsync("/webhooks", Subscription(url));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("public addresses only", problem.GetProperty("errors").GetProperty("url")[0].GetString());
    }
}
