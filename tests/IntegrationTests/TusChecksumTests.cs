using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests;

[Collection(MediaServiceCollection.Name)]
public sealed class TusChecksumTests(MediaServiceFixture fixture)
{
    private const int Mib = 1024 * 1024;
    private readonly HttpClient _http = fixture.Http;

    public static string Digest(string algorithm, byte[] bytes) => Convert.ToBase64String(algorithm switch
    {
        "sha1" => SHA1.HashData(bytes),
        "md5" => MD5.HashData(bytes),
        _ => SHA256.HashData(bytes),
    });

    [Fact]
    public async Task OptionsAdvertisesTheChecksumAlgorithms()
    {
        using var response = await _http.SendAsync(Tus.Request(HttpMethod.Options, "/files/", withVersion: false));

        Assert.Contains("checksum", Tus.Header(response, "Tus-Extension")!.Split(','));
        Assert.Contains("checksum-trailer", Tus.Header(response, "Tus-Extension")!.Split(','));
        Assert.Equal(["sha1", "md5", "sha256"], Tus.Header(response, "Tus-Checksum-Algorithm")!.Split(','));
    }

    [Theory]
    [InlineData("sha1")]
    [InlineData("md5")]
    [InlineData("sha256")]
    public async Task ChunksWithMatchingChecksumsAreStoredByteIdentical(string algorithm)
    {
        var body = Payloads.Random(13 * Mib + 7, seed: algorithm.Length);
        var url = await Tus.CreateUrlAsync(_http, body.Length);

        long offset = 0;
        foreach (var size in new[] { 6 * Mib, 1 * Mib, body.Length - 7 * Mib })
        {
            using var response = await PatchWithChecksumAsync(url, offset, body.AsSpan((int)offset, size).ToArray(), $"{algorithm} {Digest(algorithm, body.AsSpan((int)offset, size).ToArray())}");
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            offset += size;
            Assert.Equal(offset, Tus.Offset(response));
        }

        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await _http.GetByteArrayAsync($"/media/{Tus.IdOf(url)}/content")));
    }

    [Fact]
    public async Task AChunkWithAWrongChecksumGets460AndIsDiscarded()
    {
        var body = Payloads.Random(8 * Mib, seed: 61);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        using (var first = await PatchWithChecksumAsync(url, 0, body[..(2 * Mib)], $"sha1 {Digest("sha1", body[..(2 * Mib)])}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        var wrong = Digest("sha1", body[..10]);
        using (var bad = await PatchWithChecksumAsync(url, 2 * Mib, body[(2 * Mib)..], $"sha1 {wrong}"))
        {
            Assert.Equal(460, (int)bad.StatusCode);
        }

        using (var head = await Tus.HeadAsync(_http, url))
        {
            Assert.Equal(2 * Mib, Tus.Offset(head));
        }

        using var good = await PatchWithChecksumAsync(url, 2 * Mib, body[(2 * Mib)..], $"sha1 {Digest("sha1", body[(2 * Mib)..])}");
        Assert.Equal(HttpStatusCode.NoContent, good.StatusCode);
        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await _http.GetByteArrayAsync($"/media/{Tus.IdOf(url)}/content")));
    }

    [Theory]
    [InlineData("crc32 AAAAAA==")]
    [InlineData("sha1")]
    [InlineData("sha1 not-base64!")]
    [InlineData("sha1 AAAA")]
    public async Task AnUnknownAlgorithmOrMalformedChecksumGets400(string header)
    {
        var url = await Tus.CreateUrlAsync(_http, 3);

        using var response = await PatchWithChecksumAsync(url, 0, [1, 2, 3], header);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData(true, 204)]
    [InlineData(false, 460)]
    public async Task AChecksumSentAsATrailerIsVerified(bool matching, int expected)
    {
        var body = Payloads.Random(3 * Mib, seed: 71);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        var digest = Digest("sha256", matching ? body : body[1..]);

        var status = await RawChunkedPatchWithTrailerAsync(url, body, $"sha256 {digest}");

        Assert.Equal(expected, status);
        using var head = await Tus.HeadAsync(_http, url);
        Assert.Equal(matching ? body.Length : 0, Tus.Offset(head));
    }

    private Task<HttpResponseMessage> PatchWithChecksumAsync(string url, long offset, byte[] bytes, string checksum)
    {
        var request = Tus.Request(HttpMethod.Patch, url);
        request.Headers.Add("Upload-Offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("Upload-Checksum", checksum);
        request.Content = Tus.Chunk(bytes);
        return _http.SendAsync(request);
    }

    // HttpClient cannot send request trailers: write the HTTP/1.1 request by hand.
    private async Task<int> RawChunkedPatchWithTrailerAsync(string url, byte[] body, string checksum)
    {
        var address = fixture.Frontend.Address;
        using var client = new TcpClient();
        await client.ConnectAsync(address.Host, address.Port);
        await using var stream = client.GetStream();
        var head = $"PATCH {url} HTTP/1.1\r\nHost: {address.Authority}\r\nAuthorization: Bearer {fixture.Frontend.UserKey}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
            + "Content-Type: application/offset+octet-stream\r\nTransfer-Encoding: chunked\r\nTrailer: Upload-Checksum\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        for (var offset = 0; offset < body.Length; offset += 64 * 1024)
        {
            var count = Math.Min(64 * 1024, body.Length - offset);
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"{count:x}\r\n"));
            await stream.WriteAsync(body.AsMemory(offset, count));
            await stream.WriteAsync("\r\n"u8.ToArray());
        }

        await stream.WriteAsync(Encoding.ASCII.GetBytes($"0\r\nUpload-Checksum: {checksum}\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var statusLine = await reader.ReadLineAsync();
        return int.Parse(statusLine!.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
