using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace MediaService.InProcessTests.Host;

/// <summary>Builds tus and draft requests and reads their answers.</summary>
public static class Tus
{
    public const int Mib = 1024 * 1024;
    public const string Version = "1.0.0";
    public const string OffsetType = "application/offset+octet-stream";

    /// <summary>A request to <paramref name="url"/>, speaking tus 1.0.0 unless told not to.</summary>
    public static HttpRequestMessage Request(HttpMethod method, string url, bool withVersion = true)
    {
        var request = new HttpRequestMessage(method, url);
        if (withVersion)
        {
            request.Headers.Add("Tus-Resumable", Version);
        }

        return request;
    }

    /// <summary>A chunk of <paramref name="body"/>, typed as tus appends are.</summary>
    public static ByteArrayContent Chunk(byte[] body, int offset = 0, int? count = null, string type = OffsetType)
    {
        var content = new ByteArrayContent(body, offset, count ?? body.Length - offset);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    /// <summary>POST /files/ with Upload-Length (deferred when null), metadata and a first chunk.</summary>
    public static async Task<HttpResponseMessage> CreateAsync(HttpClient http, long? length, string? metadata = null, byte[]? body = null)
    {
        using var request = Request(HttpMethod.Post, "/files/");
        if (length is { } l)
        {
            request.Headers.Add("Upload-Length", l.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            request.Headers.Add("Upload-Defer-Length", "1");
        }

        if (metadata is not null)
        {
            request.Headers.TryAddWithoutValidation("Upload-Metadata", metadata);
        }

        if (body is not null)
        {
            request.Content = Chunk(body);
        }

        return await http.SendAsync(request);
    }

    /// <summary>Creates an upload and returns its URL (relative).</summary>
    public static async Task<string> CreateUrlAsync(HttpClient http, long? length, string? metadata = null)
    {
        using var response = await CreateAsync(http, length, metadata);
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return response.Headers.Location!.OriginalString;
    }

    /// <summary>PATCH at <paramref name="offset"/>.</summary>
    public static async Task<HttpResponseMessage> PatchAsync(HttpClient http, string url, long offset, HttpContent content, long? length = null, string? checksum = null)
    {
        using var request = Request(HttpMethod.Patch, url);
        request.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        if (length is { } l)
        {
            request.Headers.Add("Upload-Length", l.ToString(CultureInfo.InvariantCulture));
        }

        if (checksum is not null)
        {
            request.Headers.TryAddWithoutValidation("Upload-Checksum", checksum);
        }

        request.Content = content;
        return await http.SendAsync(request);
    }

    /// <summary>HEAD of an upload.</summary>
    public static async Task<HttpResponseMessage> HeadAsync(HttpClient http, string url)
    {
        using var request = Request(HttpMethod.Head, url);
        return await http.SendAsync(request);
    }

    /// <summary>The offset HEAD reports now.</summary>
    public static async Task<long?> OffsetAsync(HttpClient http, string url)
    {
        using var head = await HeadAsync(http, url);
        return Offset(head);
    }

    /// <summary>A response header (from the headers or the content headers), or null.</summary>
    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(",", values)
            : null;

    /// <summary>Upload-Offset, or null.</summary>
    public static long? Offset(HttpResponseMessage response) =>
        Header(response, "Upload-Offset") is { } text ? long.Parse(text, CultureInfo.InvariantCulture) : null;

    /// <summary>The item id in an upload URL.</summary>
    public static long IdOf(string url) => long.Parse(url[(url.LastIndexOf('/') + 1)..], CultureInfo.InvariantCulture);

    /// <summary>Base64 of UTF-8 text, as Upload-Metadata carries values.</summary>
    public static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>Deterministic pseudo-random bytes.</summary>
    public static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>The digest header value of a body.</summary>
    public static string Checksum(string algorithm, byte[] body) => algorithm switch
    {
        "sha1" => $"sha1 {Convert.ToBase64String(SHA1.HashData(body))}",
        "md5" => $"md5 {Convert.ToBase64String(MD5.HashData(body))}",
        "sha256" => $"sha256 {Convert.ToBase64String(SHA256.HashData(body))}",
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    /// <summary>The problem details of a response: its code, after checking the media type.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    /// <summary>Asserts a problem details body with this status and code (RFC 9457, the catalogue's type).</summary>
    public static async Task AssertProblemAsync(HttpResponseMessage response, int status, string code)
    {
        Assert.Equal(status, (int)response.StatusCode);
        var problem = await ProblemAsync(response);
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.Equal($"/problems/{code}", problem.GetProperty("type").GetString());
    }
}
