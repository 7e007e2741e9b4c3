using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests.Faults;

/// <summary>
/// PostgreSQL stopped and S3 hung under a deployment of its own (real processes, nginx in front): every route answers,
/// with 503 and <c>Retry-After</c> where the promise cannot be kept, and what can still be served is served. The clients
/// give up after 30 s, so a hang fails the test.
/// </summary>
[Collection(FaultSuiteCollection.Name)]
public sealed class OutageTests
{
    [Fact]
    public async Task WithPostgresDownWritesAnswer503AndItemsInMemoryAndTheirContentStayReadable()
    {
        await using var stack = await FaultStack.StartAsync(silos: 1, frontends: 1, new Dictionary<string, string?>());
        using var http = stack.Client(TimeSpan.FromSeconds(30));
        var id = await UploadAsync(http, Payloads.Random(100_000, seed: 1401));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/media/{id}/metadata")).StatusCode);

        await stack.PostgresStopAsync();
        try
        {
            // Longer than Auth:KeyCacheTtl: the key is honoured from what was read before (stale-if-error).
            await Task.Delay(TimeSpan.FromSeconds(6));
            foreach (var request in new Func<HttpRequestMessage>[]
            {
                () => new HttpRequestMessage(HttpMethod.Post, "/media/upload") { Content = Payloads.OctetStream([1, 2, 3]) },
                TusCreation,
                () => new HttpRequestMessage(HttpMethod.Get, "/media?limit=5"),
                () => new HttpRequestMessage(HttpMethod.Patch, $"/media/{id}/metadata")
                {
                    Content = new StringContent("{\"title\":\"x\"}", Encoding.UTF8, "application/merge-patch+json"),
                },
            })
            {
                using var message = request();
                using var answer = await http.SendAsync(message);
                var what = $"{message.Method} {message.RequestUri} answered {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}";
                Assert.True(answer.StatusCode == HttpStatusCode.ServiceUnavailable, what);
                Assert.True(answer.Headers.RetryAfter is not null, $"No Retry-After: {what}");
                Assert.Equal("storage-unavailable", (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
            }

            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/media/{id}/metadata")).StatusCode);
            Assert.Equal(100_000, (await http.GetByteArrayAsync($"/media/{id}/content")).Length);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/health/ready")).StatusCode);
        }
        finally
        {
            await stack.PostgresStartAsync();
        }

        // Back by itself.
        await UploadsAgainAsync(http, "an upload once PostgreSQL is back");
    }

    [Fact]
    public async Task WithS3HungUploadsAndDownloadsAnswer503AndReadinessAnswers()
    {
        await using var stack = await FaultStack.StartAsync(silos: 1, frontends: 1, new Dictionary<string, string?>());
        using var http = stack.Client(TimeSpan.FromSeconds(30));
        var id = await UploadAsync(http, Payloads.Random(100_000, seed: 1402));
        var url = await Tus.CreateUrlAsync(http, 1024 * 1024);

        await stack.S3PauseAsync();
        try
        {
            using (var upload = await http.PostAsync("/media/upload", Payloads.OctetStream(Payloads.Random(1024 * 1024, seed: 1403))))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, upload.StatusCode);
                Assert.NotNull(upload.Headers.RetryAfter);
            }

            using (var patch = await Tus.PatchAsync(http, url, 0, Tus.Chunk(Payloads.Random(1024 * 1024, seed: 1404))))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, patch.StatusCode);
                Assert.NotNull(patch.Headers.RetryAfter);
            }

            using (var content = await http.GetAsync($"/media/{id}/content"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, content.StatusCode);
                Assert.NotNull(content.Headers.RetryAfter);
            }

            using var ready = await http.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal("Unhealthy", (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks").GetProperty("s3").GetProperty("status").GetString());

            // What needs no S3 goes on.
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/media/{id}/metadata")).StatusCode);
            using var head = await Tus.HeadAsync(http, url);
            Assert.Equal(0, Tus.Offset(head));
        }
        finally
        {
            await stack.S3ResumeAsync();
        }

        await UploadsAgainAsync(http, "an upload once S3 is back");
    }

    private static async Task UploadsAgainAsync(HttpClient http, string what)
    {
        var again = await Eventually.HoldsAsync(async () =>
        {
            using var answer = await http.PostAsync("/media/upload", Payloads.OctetStream([4, 5, 6]));
            return answer.StatusCode;
        }, s => s == HttpStatusCode.Created, TimeSpan.FromSeconds(60), what);
        Assert.Equal(HttpStatusCode.Created, again);
    }

    private static HttpRequestMessage TusCreation()
    {
        var create = Tus.Request(HttpMethod.Post, "/files/");
        create.Headers.Add("Upload-Length", "3");
        return create;
    }

    private static async Task<long> UploadAsync(HttpClient http, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await http.PostAsync("/media/upload?filename=kept.bin", content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }
}
