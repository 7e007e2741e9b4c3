using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests;

/// <summary>
/// Parts streamed to S3 while they arrive (S3:PresignedParts) when S3 drops the connection mid-part: the frontend
/// keeps a copy of each part as it streams it, so the client never notices.
/// </summary>
[Collection(MediaServiceCollection.Name)]
public sealed class StreamedPartTests(MediaServiceFixture service) : IAsyncLifetime
{
    private const int Mib = 1024 * 1024;
    private ProxiedFrontend _proxied = null!;
    private TcpProxy _proxy = null!;
    private HttpClient _http = null!;

    public Task InitializeAsync()
    {
        _proxied = new ProxiedFrontend(service);
        (_proxy, _http) = (_proxied.Proxy, _proxied.Http);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _proxied.DisposeAsync();

    // 2 MiB in, the first part has not fully arrived: the rest is read into the copy, which is then sent. Just short of
    // 5 MiB (the part size here), the frontend has read the whole part and is sending its last write: the copy is sent.
    [Theory]
    [InlineData(2 * Mib)]
    [InlineData(5 * Mib - 64 * 1024)]
    public async Task AConnectionToS3ResetMidPartIsRetriedFromTheFrontendsCopyAndTheUploadEndsByteIdentical(int resetAfter)
    {
        var body = Payloads.Random(16 * Mib, seed: resetAfter);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        _proxy.ResetOnceAfter(resetAfter);

        using var patch = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body));

        Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        Assert.Equal(body.Length, Tus.Offset(patch));
        Assert.True(_proxy.Reset.IsCompleted, "the proxy reset a connection to S3");
        var id = Tus.IdOf(url);
        var item = await _http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata");
        Assert.Equal("stored", item.GetProperty("status").GetString());
        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await service.Http.GetByteArrayAsync($"/media/{id}/content")));
    }

    // With S3:PresignedParts off, parts are read in full and sent as SDK-signed requests: same bytes, same answers.
    [Fact]
    public async Task WithPresignedPartsOffPartsGoAsSignedRequestsAndTheUploadEndsByteIdentical()
    {
        await using var signed = new FrontendFactory(service.Cluster.Options.ClusterId, service.ServiceId, new Dictionary<string, string?>
        {
            ["S3:PresignedParts"] = "false",
        });
        using var http = signed.CreateHttpClient();
        Assert.False(signed.Services.GetRequiredService<MediaService.DataPlane.MediaObjectStore>().StreamsParts);
        var body = Payloads.Random(12 * Mib + 7, seed: 5);
        var url = await Tus.CreateUrlAsync(http, body.Length);

        using (var first = await Tus.PatchAsync(http, url, 0, Tus.Chunk(body, 0, 7 * Mib)))
        {
            Assert.Equal(7 * Mib, Tus.Offset(first));
        }

        using var rest = await Tus.PatchAsync(http, url, 7 * Mib, Tus.Chunk(body, 7 * Mib));

        Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);
        Assert.Equal(body.Length, Tus.Offset(rest));
        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await http.GetByteArrayAsync($"/media/{Tus.IdOf(url)}/content")));
    }
}
