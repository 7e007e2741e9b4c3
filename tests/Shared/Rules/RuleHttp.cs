using System.Globalization;
using System.Net.Http.Headers;
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

    /// <summary>A tus 1.0 request (with <c>Tus-Resumable</c>).</summary>
    public static HttpRequestMessage TusRequest(HttpMethod method, string url)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Add("Tus-Resumable", "1.0.0");
        return request;
    }

    /// <summary>A tus append body (<c>application/offset+octet-stream</c>).</summary>
    public static ByteArrayContent Chunk(byte[] bytes, int offset = 0, int? count = null)
    {
        var content = new ByteArrayContent(bytes, offset, count ?? bytes.Length - offset);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        return content;
    }

    /// <summary>A tus creation of <paramref name="length"/> bytes; returns the upload's URL.</summary>
    public static async Task<string> TusCreateUrlAsync(HttpClient http, long length)
    {
        using var request = TusRequest(HttpMethod.Post, "/files/");
        request.Headers.Add("Upload-Length", length.ToString(CultureInfo.InvariantCulture));
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return response.Headers.Location!.OriginalString;
    }

    /// <summary>A tus PATCH at <paramref name="offset"/>.</summary>
    public static async Task<HttpResponseMessage> TusPatchAsync(HttpClient http, string url, long offset, HttpContent content)
    {
        using var request = TusRequest(HttpMethod.Patch, url);
        request.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        request.Content = content;
        return await http.SendAsync(request);
    }

    /// <summary>A tus HEAD.</summary>
    public static async Task<HttpResponseMessage> TusHeadAsync(HttpClient http, string url)
    {
        using var request = TusRequest(HttpMethod.Head, url);
        return await http.SendAsync(request);
    }
}
