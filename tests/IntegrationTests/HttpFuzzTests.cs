using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;
using MediaService.Tests;
using Xunit.Abstractions;

namespace MediaService.IntegrationTests;

/// <summary>
/// An HTTP fuzzer against the real stack: random, mostly malformed requests to every route of the OpenAPI document
/// (path ids real and made up, tus and IETF-draft headers, ranges, preconditions, bodies of random bytes and broken
/// JSON, credentials valid, foreign, forged and absent), for a bounded time (<c>FUZZ_SECONDS</c>, default 40;
/// <c>FUZZ_SEED</c> repeats a run). No answer may be a 5xx other than 503, and the service must be healthy after.
/// The number of requests tried goes to the test output and to <c>FUZZ_REPORT</c>.
/// </summary>
[Collection(MediaServiceCollection.Name)]
public sealed class HttpFuzzTests(MediaServiceFixture fixture, ITestOutputHelper output)
{
    private static readonly string[] Soup =
    [
        "0", "1", "-1", "3", "42", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "1e3", "0x10", " ", "",
        "?0", "?1", "?2", "5", "6", "7", "8", "1.0.0", "0.2.2", "final;", "partial", "final;/files/1 /files/2", "/files/", "sha1 ", "md5 AAAA",
        "sha256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "bytes=0-", "bytes=-5", "bytes=5-1", "bytes=0-0,2-3", "bytes=99999999999999999999-",
        "\"etag\"", "W/\"v1\"", "*", "\"v9999999999999999999\"", "filename dGVzdA==", "filename", "a b c", ",,,", "=", "\u00e9", "%00", "..%2f",
        "application/offset+octet-stream", "application/partial-upload", "application/json", "application/merge-patch+json", "text/plain",
        "multipart/form-data; boundary=x", "attachment; filename=\"../../etc/passwd\"", "attachment; filename*=UTF-8''%E2%82%AC", "PATCH", "DELETE",
        "Bearer", "Bearer mk_", "Basic dXNlcjpwYXNz", "c3VyZQ", "9999-99-99", "2026-01-01T00:00:00Z", "null", "true",
    ];

    private static readonly string[] Headers =
    [
        "Upload-Offset", "Upload-Length", "Upload-Defer-Length", "Upload-Metadata", "Upload-Concat", "Upload-Checksum", "Upload-Complete",
        "Upload-Draft-Interop-Version", "Tus-Resumable", "Range", "If-Range", "If-Match", "If-None-Match", "Content-Disposition",
        "X-HTTP-Method-Override", "Upload-Expires", "Content-Type",
    ];

    [Fact]
    public async Task NoRequestMakesA5xxOtherThan503()
    {
        var seconds = double.TryParse(Environment.GetEnvironmentVariable("FUZZ_SECONDS"), System.Globalization.CultureInfo.InvariantCulture, out var s) ? s : 40;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), out var given) ? given : Random.Shared.Next();
        var random = new Random(seed);

        // Callers: an owner of its own (so that deletes touch only the fuzzer's items), another owner, no key, forged keys.
        using var admin = fixture.Frontend.CreateHttpClient(fixture.Frontend.AdminKey);
        async Task<HttpClient> OwnerAsync(string owner)
        {
            using var made = await admin.PostAsJsonAsync("/admin/keys", new { owner });
            return fixture.Frontend.CreateHttpClient((await made.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString());
        }

        using var mine = await OwnerAsync($"fuzz-{Guid.NewGuid():N}"[..20]);
        using var theirs = await OwnerAsync($"fuzz-other-{Guid.NewGuid():N}"[..24]);
        using var anonymous = fixture.Frontend.CreateHttpClient(key: null);
        using var forged = fixture.Frontend.CreateHttpClient("mk_" + new string('x', 65));
        HttpClient[] callers = [mine, mine, mine, mine, theirs, anonymous, forged];

        // Real ids to aim at: stored, processed, unfinished, partial, and one of another owner.
        var ids = new List<long>
        {
            await MediaFiles.UploadAsync(mine, MediaCorpus.Image(64, 48, new SixLabors.ImageSharp.Formats.Jpeg.JpegEncoder()), "p.jpg", "image/jpeg"),
            await MediaFiles.UploadAsync(mine, Encoding.ASCII.GetBytes("text"), "t.txt", "text/plain"),
            Tus.IdOf(await Tus.CreateUrlAsync(mine, 100)),
            Tus.IdOf(await Tus.CreateUrlAsync(mine, null)),
            await MediaFiles.UploadAsync(theirs, Encoding.ASCII.GetBytes("theirs"), "o.txt", "text/plain"),
        };
        var existingKeys = (await admin.GetFromJsonAsync<JsonElement>("/admin/keys")).EnumerateArray().Select(k => k.GetProperty("id").GetInt64()).ToHashSet();

        var routes = await RoutesAsync(anonymous);
        Assert.True(routes.Count >= 15, $"only {routes.Count} routes in the OpenAPI document");

        var statuses = new Dictionary<int, int>();
        var failures = new List<string>();
        var connectionErrors = 0;
        var closedExamples = new List<string>();
        var tried = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            var (method, template) = routes[random.Next(routes.Count)];
            var path = Fill(template, random, ids, existingKeys);
            var caller = template.StartsWith("/admin", StringComparison.Ordinal) && random.Next(3) == 0
                ? (path.StartsWith("/admin/keys/", StringComparison.Ordinal) && method == "DELETE" ? mine : admin)
                : callers[random.Next(callers.Length)];
            using var request = new HttpRequestMessage(new HttpMethod(method), path + Query(random));
            if (path.StartsWith("/files", StringComparison.Ordinal) && random.Next(5) > 0)
            {
                // Mostly past the version check, so that the handlers themselves get the junk.
                request.Headers.TryAddWithoutValidation("Tus-Resumable", "1.0.0");
            }

            for (var i = random.Next(6); i > 0; i--)
            {
                var name = Headers[random.Next(Headers.Length)];
                if (name != "Content-Type")
                {
                    request.Headers.TryAddWithoutValidation(name, Value(random));
                }
            }

            if (method is "POST" or "PATCH" or "PUT" || random.Next(8) == 0)
            {
                request.Content = Body(random);
                request.Content.Headers.TryAddWithoutValidation("Content-Type", random.Next(4) == 0 ? Value(random) : ContentTypeFor(method, template));
            }

            tried++;
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                using var response = await caller.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
                var status = (int)response.StatusCode;
                statuses[status] = statuses.GetValueOrDefault(status) + 1;
                if (status >= 500 && status != 503)
                {
                    failures.Add($"{method} {path} -> {status}: {Truncate(await response.Content.ReadAsStringAsync(), 300)} "
                        + $"[{string.Join("; ", request.Headers.Select(h => $"{h.Key}: {string.Join(',', h.Value)}"))}]");
                }
            }
            catch (HttpRequestException ex)
            {
                // The client refusing to send a header, or Kestrel closing a connection over a malformed request.
                connectionErrors++;
                if (closedExamples.Count < 3)
                {
                    closedExamples.Add($"{method} {path}: {ex.InnerException?.Message ?? ex.Message}");
                }
            }
            catch (OperationCanceledException)
            {
                failures.Add($"{method} {path} -> no answer in 30 s");
            }
        }

        using var health = await anonymous.GetAsync("/health/ready");
        var summary = $"http fuzzer: {tried} requests to {routes.Count} routes in {clock.Elapsed.TotalSeconds:0} s (seed {seed}); "
            + $"5xx other than 503: {failures.Count}; connections closed: {connectionErrors}; statuses: "
            + string.Join(", ", statuses.OrderBy(p => p.Key).Select(p => $"{p.Key}x{p.Value}"));
        output.WriteLine(summary);
        output.WriteLine("closed, for example: " + string.Join(" | ", closedExamples));
        if (Environment.GetEnvironmentVariable("FUZZ_REPORT") is { Length: > 0 } report)
        {
            await File.AppendAllTextAsync(report, summary + "\n");
        }

        Assert.True(failures.Count == 0, summary + "\n" + string.Join("\n", failures.Take(20)));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.True(tried > 100, summary);
    }

    private static async Task<List<(string Method, string Template)>> RoutesAsync(HttpClient http)
    {
        var document = await http.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var routes = new List<(string, string)>();
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                if (operation.Name is "get" or "post" or "patch" or "delete" or "head" or "options" or "put")
                {
                    routes.Add((operation.Name.ToUpperInvariant(), path.Name));
                }
            }
        }

        // What the document cannot list: methods it does not describe on routes it does.
        routes.Add(("PUT", "/files/{id}"));
        routes.Add(("POST", "/media/{id}"));
        return routes;
    }

    private static string Fill(string template, Random random, List<long> ids, HashSet<long> existingKeys)
    {
        var result = new StringBuilder();
        var i = 0;
        while (i < template.Length)
        {
            var open = template.IndexOf('{', i);
            if (open < 0)
            {
                result.Append(template, i, template.Length - i);
                break;
            }

            result.Append(template, i, open - i);
            var close = template.IndexOf('}', open);
            var name = template[(open + 1)..close];
            result.Append(Uri.EscapeDataString(Parameter(name, template, random, ids, existingKeys)));
            i = close + 1;
        }

        return result.ToString();
    }

    private static string Parameter(string name, string template, Random random, List<long> ids, HashSet<long> existingKeys)
    {
        if (template.StartsWith("/admin/keys", StringComparison.Ordinal))
        {
            // Never an existing key: the other tests' keys must keep working.
            long id;
            do
            {
                id = random.Next(3) == 0 ? random.NextInt64() : random.Next(1, 100_000);
            }
            while (existingKeys.Contains(id));
            return id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return (name, random.Next(6)) switch
        {
            ("id", < 3) => ids[random.Next(ids.Count)].ToString(System.Globalization.CultureInfo.InvariantCulture),
            ("id", 3) => random.NextInt64(long.MinValue, long.MaxValue).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ("id", _) => Value(random),
            (_, < 3) => new[] { "thumb", "display", "thumb.webp", "display.jpg", "web.mp4", "poster.jpg", "audio.m4a" }[random.Next(7)],
            _ => Value(random),
        };
    }

    // The type each route reads, so that most bodies get past the content negotiation into the parsers.
    private static string ContentTypeFor(string method, string template) => (method, template) switch
    {
        (_, _) when template.StartsWith("/files", StringComparison.Ordinal) => "application/offset+octet-stream",
        ("PATCH", _) => "application/merge-patch+json",
        ("POST", "/media/upload") => "application/octet-stream",
        _ => "application/json",
    };

    private static string Query(Random random)
    {
        if (random.Next(3) == 0)
        {
            return string.Empty;
        }

        string[] keys = ["q", "tag", "tags", "kind", "status", "sort", "limit", "cursor", "createdAfter", "createdBefore", "expires", "sig", "filename", "source", "x"];
        var pairs = Enumerable.Range(0, random.Next(1, 5)).Select(_ => keys[random.Next(keys.Length)]).Select(key =>
            $"{key}={Uri.EscapeDataString(key == "cursor" && random.Next(2) == 0 ? ForgedCursor(random) : Value(random))}");
        return "?" + string.Join('&', pairs);
    }

    // A cursor of the right shape with numbers of any size.
    private static string ForgedCursor(Random random) => System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(
        $"{(random.Next(2) == 0 ? 'c' : 'r')}|{(random.Next(2) == 0 ? long.MaxValue - random.Next(1000) : random.NextInt64())}|{random.Next(int.MinValue, int.MaxValue)}|{random.NextInt64()}"));

    private static string Value(Random random) => random.Next(5) switch
    {
        0 => new string(Enumerable.Range(0, random.Next(1, 40)).Select(_ => (char)random.Next(0x20, 0x7F)).ToArray()),
        1 => string.Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ => Soup[random.Next(Soup.Length)])),
        2 => random.NextInt64(long.MinValue, long.MaxValue).ToString(System.Globalization.CultureInfo.InvariantCulture),
        3 => new string('9', random.Next(1, 40)),
        _ => Soup[random.Next(Soup.Length)],
    };

    private static HttpContent Body(Random random)
    {
        switch (random.Next(5))
        {
            case 0:
                return new ByteArrayContent([]);
            case 1:
                var bytes = new byte[random.Next(0, 70_000)];
                random.NextBytes(bytes);
                return new ByteArrayContent(bytes);
            case 2:
                string[] json =
                [
                    """{"title":"\ud800"}""", """{"custom":{"\udfff":"x"}}""", """{"tags":[1,2,{}]}""", """{"expiresInSeconds":9223372036854775807}""",
                    """{"expiresInSeconds":1e400}""", """{"owner":"a","isAdmin":true}""", """{"owner":null}""", "[]", "null", "{", """{"title":""" + new string('[', 500),
                    """{"description":"x","keywords":["a"],"custom":{"k":null}}""", """{"expiresInSeconds":-1}""", """{"owner":"\u0000"}""",
                ];
                return new StringContent(json[random.Next(json.Length)]);
            case 3:
                return new StringContent(string.Concat(Enumerable.Range(0, random.Next(1, 30)).Select(_ => Soup[random.Next(Soup.Length)])));
            default:
                return new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(new string('a', random.Next(0, 5000))))); // chunked
        }
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];
}
