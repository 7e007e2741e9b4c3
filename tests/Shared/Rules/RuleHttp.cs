using System.Globalization;
using System.Security.Cryptography;

namespace MediaService.TestRules;

/// <summary>What the shared rule sets read of a response, and the bodies they send: the same on every host.</summary>
public static class RuleHttp
{
    /// <summary>A deterministic pseudo-random body.</summary>
    public static byte[] Random(long size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>The SHA-256 of a body, in lower-case hex.</summary>
    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>The response's <c>Upload-Offset</c>, or null.</summary>
    public static long? Offset(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Upload-Offset", out var values) ? long.Parse(values.Single(), CultureInfo.InvariantCulture) : null;

    /// <summary>A response header sent once, or null.</summary>
    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;

    /// <summary>The item id at the end of an upload URL.</summary>
    public static long IdOf(string url) => long.Parse(url.TrimEnd('/').Split('/')[^1], CultureInfo.InvariantCulture);
}
