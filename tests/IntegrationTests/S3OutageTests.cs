using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;
using MediaService.TestRules;

namespace MediaService.IntegrationTests;

[Collection(MediaServiceCollection.Name)]
public sealed class S3OutageTests(MediaServiceFixture service) : IAsyncLifetime
{
    private ProxiedFrontend _proxied = null!;
    private TcpProxy _proxy = null!;
    private HttpClient _http = null!;

    /// <summary>A frontend whose way to S3 goes through the relay, with quick retries and a short break.</summary>
    public Task InitializeAsync()
    {
        _proxied = new ProxiedFrontend(service, new Dictionary<string, string?>
        {
            ["S3:MaxRetries"] = "1",
            ["S3:RetryBaseDelay"] = "00:00:00.050",
            ["S3:AttemptTimeout"] = "00:00:05",
            ["S3:BreakerMinimumThroughput"] = "2",
            ["S3:BreakerBreakDuration"] = "00:00:02",
        });
        (_proxy, _http) = (_proxied.Proxy, _proxied.Http);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _proxied.DisposeAsync();

    [Fact]
    public async Task AnUploadWhileS3BecomesUnreachableAnswers503AndTheItemIsNeverStored()
    {
        var body = Payloads.Random(TestEnvironment.PartSize + 1024 * 1024, seed: 11);
        var gated = new GatedStream(body, gateAt: 3 * 1024 * 1024);
        var content = new StreamContent(gated);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.ContentLength = body.Length;

        var upload = _http.PostAsync("/media/upload?filename=lost.bin", content);
        await gated.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        _proxy.Cut();
        gated.Open();
        using var response = await upload;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter?.Delta);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("storage-unavailable", problem.GetProperty("code").GetString());
        var id = problem.GetProperty("mediaId").GetInt64();

        // Read through the healthy frontend: the item exists, is failed (the answer does not wait for that), and its
        // content cannot be read.
        var status = await Eventually.HoldsAsync(
            async () => (await service.Http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata")).GetProperty("status").GetString(),
            s => s == "failed", TimeSpan.FromSeconds(30), "the item failed");
        Assert.Equal("failed", status);
        using var contentResponse = await service.Http.GetAsync($"/media/{id}/content");
        Assert.Equal(HttpStatusCode.Conflict, contentResponse.StatusCode);
        Assert.Equal("media-not-stored", (await contentResponse.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task ReadinessReportsS3DownAndUploadsWorkAgainOnceItIsBack()
    {
        _proxy.Cut();

        using var notReady = await _http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        var report = await notReady.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Unhealthy", report.GetProperty("checks").GetProperty("s3").GetProperty("status").GetString());
        Assert.Equal("Healthy", report.GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());

        using var refused = await _http.PostAsync("/media/upload", Payloads.OctetStream([1, 2, 3]));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);

        _proxy.Restore();
        var accepted = await Eventually.HoldsAsync(
            async () => (await _http.PostAsync("/media/upload", Payloads.OctetStream([1, 2, 3]))).StatusCode,
            status => status == HttpStatusCode.Created,
            TimeSpan.FromSeconds(30),
            "an upload after S3 came back");
        Assert.Equal(HttpStatusCode.Created, accepted);
    }
}
