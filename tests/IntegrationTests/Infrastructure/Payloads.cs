using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace MediaService.IntegrationTests.Infrastructure;

/// <summary>Deterministic pseudo-random bodies and their hashes.</summary>
public static class Payloads
{
    public static byte[] Random(long size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static async Task<string> Sha256Async(Stream stream) => Convert.ToHexStringLower(await SHA256.HashDataAsync(stream));

    public static ByteArrayContent OctetStream(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }
}
