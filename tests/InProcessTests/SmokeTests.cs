using System.Net;
using MediaService.InProcessTests.Host;

namespace MediaService.InProcessTests;

public sealed class SmokeTests(InProcessHost host) : IClassFixture<InProcessHost>
{
    [Fact]
    public async Task AnUploadInTwoPatchesIsReadBackByteIdentical()
    {
        var body = Tus.Bytes(7 * Tus.Mib + 3, seed: 1);
        var url = await Tus.CreateUrlAsync(host.Http, body.Length);
        using var first = await Tus.PatchAsync(host.Http, url, 0, Tus.Chunk(body, 0, Tus.Mib));
        Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        using var second = await Tus.PatchAsync(host.Http, url, Tus.Mib, Tus.Chunk(body, Tus.Mib));
        Assert.Equal(HttpStatusCode.NoContent, second.StatusCode);
        Assert.Equal(body.Length, Tus.Offset(second));
        Assert.Equal(body, await host.Http.GetByteArrayAsync($"/media/{Tus.IdOf(url)}/content"));
    }
}
