using System.Net;
using MediaService.InProcessTests.Host;

namespace MediaService.InProcessTests;

/// <summary>The tus checksum extension.</summary>
public sealed class TusChecksumTests(InProcessHost host) : IClassFixture<InProcessHost>
{
    private const int Mib = Tus.Mib;
    private readonly HttpClient _http = host.Http;

    [Fact]
    public async Task OptionsAdvertisesTheChecksumAlgorithms()
    {
        using var response = await _http.SendAsync(Tus.Request(HttpMethod.Options, "/files/"));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("sha1,md5,sha256", Tus.Header(response, "Tus-Checksum-Algorithm"));
    }

    [Theory]
    [InlineData("sha1")]
    [InlineData("md5")]
    [InlineData("sha256")]
    public async Task ChunksWithMatchingChecksumsGet204AndAreStoredByteIdentical(string algorithm)
    {
        var body = Tus.Bytes(7 * Mib + 11, seed: 71);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        var cut = 2 * Mib;

        using var first = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body, 0, cut), checksum: Tus.Checksum(algorithm, body[..cut]));
        using var second = await Tus.PatchAsync(_http, url, cut, Tus.Chunk(body, cut), checksum: Tus.Checksum(algorithm, body[cut..]));

        Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        Assert.Equal(cut, Tus.Offset(first));
        Assert.Equal(HttpStatusCode.NoContent, second.StatusCode);
        await Assertions.StoredAsync(host, url, body);
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(6 * Mib)]
    public async Task AChunkWithAWrongChecksumGets460AndIsDiscarded(int size)
    {
        var body = Tus.Bytes(size + 10, seed: 72);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        var wrong = Tus.Checksum("sha1", body[1..(size + 1)]);

        using var refused = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body, 0, size), checksum: wrong);

        await Tus.AssertProblemAsync(refused, 460, "checksum-mismatch");
        Assert.Equal(0, await Tus.OffsetAsync(_http, url));
        using var good = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body), checksum: Tus.Checksum("sha1", body));
        Assert.Equal(HttpStatusCode.NoContent, good.StatusCode);
        await Assertions.StoredAsync(host, url, body);
    }

    [Fact]
    public async Task AWrongChecksumAfterAGoodChunkKeepsTheGoodChunk()
    {
        var body = Tus.Bytes(3000, seed: 73);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        using var good = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body, 0, 1000), checksum: Tus.Checksum("md5", body[..1000]));
        Assert.Equal(HttpStatusCode.NoContent, good.StatusCode);

        using var bad = await Tus.PatchAsync(_http, url, 1000, Tus.Chunk(body, 1000, 1000), checksum: Tus.Checksum("md5", body[..1000]));

        Assert.Equal(460, (int)bad.StatusCode);
        Assert.Equal(1000, await Tus.OffsetAsync(_http, url));
    }

    [Theory]
    [InlineData("crc32 AAAAAA==")]
    [InlineData("sha1")]
    [InlineData("sha1 not-base64!")]
    [InlineData("sha1 AAAA")]
    public async Task AnUnknownAlgorithmOrMalformedChecksumGets400(string header)
    {
        var url = await Tus.CreateUrlAsync(_http, 10);

        using var response = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(new byte[10]), checksum: header);

        await Tus.AssertProblemAsync(response, 400, "upload-rejected");
        Assert.Equal(0, await Tus.OffsetAsync(_http, url));
    }
}
