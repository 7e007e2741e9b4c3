using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests;

/// <summary>A frontend whose way to S3 goes through a relay the tests can cut.</summary>
public sealed class S3OutageFixture : IAsyncLifetime
{
    public TcpProxy Proxy { get; private set; } = null!;

    public FrontendFactory Frontend { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync(MediaServiceFixture service)
    {
        Proxy = new TcpProxy(new Uri(TestEnvironment.S3ServiceUrl));
        Frontend = new FrontendFactory(service.Cluster.Options.ClusterId, service.ServiceId, new Dictionary<string, string?>
        {
            ["S3:ServiceUrl"] = Proxy.Address.ToString(),
            ["S3:MaxRetries"] = "1",
            ["S3:RetryBaseDelay"] = "00:00:00.050",
            ["S3:AttemptTimeout"] = "00:00:05",
            ["S3:BreakerMinimumThroughput"] = "2",
            ["S3:BreakerBreakDuration"] = "00:00:02",
        });
        Http = Frontend.CreateHttpClient();
        await Task.CompletedTask;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (Frontend is not null)
        {
            await Frontend.DisposeAsync();
        }

        if (Proxy is not null)
        {
            await Proxy.DisposeAsync();
        }
    }
}

[Collection(MediaServiceCollection.Name)]
public sealed class S3OutageTests(MediaServiceFixture service) : IAsyncLifetime
{
    private readonly S3OutageFixture _outage = new();

    public Task InitializeAsync() => _outage.InitializeAsync(service);

    public Task DisposeAsync() => _outage.DisposeAsync();

    [Fact]
    public async Task AnUploadWhileS3BecomesUnreachableAnswers503AndTheItemIsNeverStored()
    {
        var body = Payloads.Random(TestEnvironment.PartSize + 1024 * 1024, seed: 11);
        var gated = new GatedStream(body, gateAt: 3 * 1024 * 1024);
        var content = new StreamContent(gated);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.ContentLength = body.Length;

        var upload = _outage.Http.PostAsync("/media/upload?filename=lost.bin", content);
        await gated.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        _outage.Proxy.Cut();
        gated.Open();
        using var response = await upload;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter?.Delta);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("storage-unavailable", problem.GetProperty("code").GetString());
        var id = problem.GetProperty("mediaId").GetInt64();

        // Read through the healthy frontend: the item exists, is failed, and its content cannot be read.
        var metadata = await service.Http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata");
        Assert.Equal("failed", metadata.GetProperty("status").GetString());
        using var contentResponse = await service.Http.GetAsync($"/media/{id}/content");
        Assert.Equal(HttpStatusCode.Conflict, contentResponse.StatusCode);
        Assert.Equal("media-not-stored", (await contentResponse.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task ReadinessReportsS3DownAndUploadsWorkAgainOnceItIsBack()
    {
        _outage.Proxy.Cut();

        using var notReady = await _outage.Http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        var report = await notReady.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Unhealthy", report.GetProperty("checks").GetProperty("s3").GetProperty("status").GetString());
        Assert.Equal("Healthy", report.GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());

        using var refused = await _outage.Http.PostAsync("/media/upload", Payloads.OctetStream([1, 2, 3]));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);

        _outage.Proxy.Restore();
        var accepted = await Eventually.HoldsAsync(
            async () => (await _outage.Http.PostAsync("/media/upload", Payloads.OctetStream([1, 2, 3]))).StatusCode,
            status => status == HttpStatusCode.Created,
            TimeSpan.FromSeconds(30),
            "an upload after S3 came back");
        Assert.Equal(HttpStatusCode.Created, accepted);
    }
}
