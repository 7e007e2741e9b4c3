using System.Net.Http.Headers;

namespace MediaService.IntegrationTests.Infrastructure;

/// <summary>Raw tus 1.0 requests, so that tests control every header.</summary>
public static class Tus
{
    public static HttpRequestMessage Request(HttpMethod method, string url, bool withVersion = true)
    {
        var request = new HttpRequestMessage(method, url);
        if (withVersion)
        {
            request.Headers.Add("Tus-Resumable", "1.0.0");
        }

        return request;
    }

    public static async Task<HttpResponseMessage> CreateAsync(HttpClient http, long? length, string? metadata = null, byte[]? body = null)
    {
        using var request = Request(HttpMethod.Post, "/files/");
        if (length is { } l)
        {
            request.Headers.Add("Upload-Length", l.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            request.Headers.Add("Upload-Defer-Length", "1");
        }

        if (metadata is not null)
        {
            request.Headers.Add("Upload-Metadata", metadata);
        }

        if (body is not null)
        {
            request.Content = Chunk(body);
        }

        return await http.SendAsync(request);
    }

    public static async Task<string> CreateUrlAsync(HttpClient http, long? length, string? metadata = null)
    {
        using var response = await CreateAsync(http, length, metadata);
        response.EnsureSuccessStatusCode();
        return response.Headers.Location!.OriginalString;
    }

    public static ByteArrayContent Chunk(byte[] bytes, int offset = 0, int? count = null)
    {
        var content = new ByteArrayContent(bytes, offset, count ?? bytes.Length - offset);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        return content;
    }

    public static async Task<HttpResponseMessage> PatchAsync(HttpClient http, string url, long offset, HttpContent content, long? length = null)
    {
        using var request = Request(HttpMethod.Patch, url);
        request.Headers.Add("Upload-Offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (length is { } l)
        {
            request.Headers.Add("Upload-Length", l.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        request.Content = content;
        return await http.SendAsync(request);
    }

    public static async Task<HttpResponseMessage> HeadAsync(HttpClient http, string url)
    {
        using var request = Request(HttpMethod.Head, url);
        return await http.SendAsync(request);
    }

    public static long? Offset(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Upload-Offset", out var values) ? long.Parse(values.Single(), System.Globalization.CultureInfo.InvariantCulture) : null;

    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;

    public static long IdOf(string url) => long.Parse(url.TrimEnd('/').Split('/')[^1], System.Globalization.CultureInfo.InvariantCulture);

    public static string Base64(string text) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));
}
