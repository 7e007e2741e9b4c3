using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests;

/// <summary>The web app's files (/app/) and the upload links it uses, through the real frontend.</summary>
[Collection(MediaServiceCollection.Name)]
public sealed class WebAppTests(MediaServiceFixture fixture)
{
    [Theory]
    [InlineData("/app/", "text/html")]
    [InlineData("/app/index.html", "text/html")]
    [InlineData("/app/js/main.js", "text/javascript")]
    [InlineData("/app/js/webhooks.js", "text/javascript")]
    [InlineData("/app/app.css", "text/css")]
    [InlineData("/app/vendor/uppy/uppy.min.mjs", "text/javascript")]
    [InlineData("/app/vendor/uppy/uppy.min.css", "text/css")]
    public async Task TheAppsFilesAreServedWithoutAKeyWithTheirTypesAndAStrictPolicy(string path, string type)
    {
        using var anonymous = fixture.Frontend.CreateHttpClient(null);

        using var response = await anonymous.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        var policy = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", policy);
        Assert.Contains("default-src 'none'", policy);
        Assert.DoesNotContain("unsafe", policy);
        Assert.True(response.Headers.CacheControl?.NoCache);
        Assert.NotNull(response.Headers.ETag);

        // Revalidation is cheap: the same ETag answers 304.
        using var again = new HttpRequestMessage(HttpMethod.Get, path);
        again.Headers.IfNoneMatch.Add(response.Headers.ETag!);
        using var revalidated = await anonymous.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
    }

    [Fact]
    public async Task ThePageAndItsModulesHoldNothingTheStrictPolicyWouldBlock()
    {
        using var anonymous = fixture.Frontend.CreateHttpClient(null);

        var html = await anonymous.GetStringAsync("/app/");

        // Scripts only from files, no style elements or attributes, no inline event handlers: the policy
        // (script-src 'self'; style-src 'self') would block them, and the page would break silently.
        Assert.DoesNotMatch(@"<script(?![^>]*\bsrc=)[^>]*>", html);
        Assert.DoesNotMatch(@"<style\b", html);
        Assert.DoesNotMatch(@"<[^>]*\sstyle\s*=", html);
        Assert.DoesNotMatch(@"<[^>]*\son[a-z]+\s*=", html);
        // The views the navigation offers to a key's holder.
        foreach (var view in new[] { "upload", "items", "webhooks" })
        {
            Assert.Contains($"href=\"#/{view}\" data-nav=\"{view}\"", html);
            Assert.Contains($"id=\"view-{view}\"", html);
        }

        // Every module the page loads (main.js and what it imports, transitively) is served as JavaScript, and the app's
        // own never turns strings into code or markup (eval and new Function are blocked; HTML from strings invites
        // injection of what the API returns, such as a webhook's URL or a delivery's error).
        var pending = new Queue<string>(["js/main.js"]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (pending.TryDequeue(out var module))
        {
            if (!seen.Add(module))
            {
                continue;
            }

            using var response = await anonymous.GetAsync($"/app/{module}");
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"/app/{module} answered {response.StatusCode}.");
            Assert.Equal("text/javascript", response.Content.Headers.ContentType?.MediaType);
            if (module.StartsWith("vendor/", StringComparison.Ordinal))
            {
                continue;
            }

            var source = await response.Content.ReadAsStringAsync();
            Assert.DoesNotMatch(@"\beval\s*\(|\bnew\s+Function\s*\(|\.innerHTML\s*=|\.outerHTML\s*=|insertAdjacentHTML|document\.write", source);
            foreach (Match import in Regex.Matches(source, @"\bfrom\s+'(\.{1,2}/[^']+)'"))
            {
                pending.Enqueue(new Uri(new Uri($"http://app/app/{module}"), import.Groups[1].Value).AbsolutePath["/app/".Length..]);
            }
        }

        Assert.Contains("js/webhooks.js", seen);
        Assert.Contains("vendor/uppy/uppy.min.mjs", seen);
    }

    [Fact]
    public async Task AppWithoutItsSlashRedirectsAndAMissingFileIsA404Problem()
    {
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = fixture.Frontend.Address };

        using var bare = await anonymous.GetAsync("/app");
        using var missing = await anonymous.GetAsync("/app/nothing-here.js");
        using var escape = await anonymous.GetAsync("/app/..%2Fappsettings.json");

        Assert.Equal(HttpStatusCode.Redirect, bare.StatusCode);
        Assert.Equal("/app/", bare.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, escape.StatusCode);
    }

    [Fact]
    public async Task AnUploadLinkUploadsIntoTheOwnersLibraryAndOpensNothingElse()
    {
        using var link = await fixture.Http.PostAsJsonAsync("/upload-links", new { expiresInSeconds = 600, maxBytes = 4096 });
        Assert.Equal(HttpStatusCode.Created, link.StatusCode);
        var body = await link.Content.ReadFromJsonAsync<JsonElement>();
        var token = body.GetProperty("token").GetString()!;
        Assert.Equal($"/app/#upload={token}", body.GetProperty("url").GetString());
        Assert.Equal(4096, body.GetProperty("maxBytes").GetInt64());
        using var holder = fixture.Frontend.CreateHttpClient(token);

        // Opened: a tus upload from creation to its last byte, its offset, and the item's status.
        var bytes = Payloads.Random(3000, seed: 5);
        var url = await Tus.CreateUrlAsync(holder, bytes.Length, $"filename {Tus.Base64("shared.bin")}");
        using (var head = await Tus.HeadAsync(holder, url))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(0, Tus.Offset(head));
        }

        using (var patch = await Tus.PatchAsync(holder, url, 0, Tus.Chunk(bytes)))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        var id = Tus.IdOf(url);
        var item = await holder.GetFromJsonAsync<JsonElement>($"/media/{id}");
        Assert.Equal("stored", item.GetProperty("status").GetString());
        Assert.Equal("shared.bin", item.GetProperty("fileName").GetString());
        // It is the owner's: their key reads it.
        Assert.Equal(bytes, await fixture.Http.GetByteArrayAsync($"/media/{id}/content"));

        // Refused: everything else, whatever the item.
        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, "/media"), (HttpMethod.Get, $"/media/{id}/content"), (HttpMethod.Get, $"/media/{id}/metadata"),
            (HttpMethod.Get, $"/media/{id}/renditions/thumb"), (HttpMethod.Delete, $"/media/{id}"), (HttpMethod.Post, $"/media/{id}/links"),
            (HttpMethod.Post, "/upload-links"), (HttpMethod.Get, "/admin/keys"), (HttpMethod.Post, "/media/upload"),
        })
        {
            using var refused = await holder.SendAsync(new HttpRequestMessage(method, path));
            Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{method} {path} through an upload link answered {refused.StatusCode}.");
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        }

        using (var patchMetadata = new HttpRequestMessage(HttpMethod.Patch, $"/media/{id}/metadata") { Content = JsonContent.Create(new { title = "x" }) })
        {
            using var refused = await holder.SendAsync(patchMetadata);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        // Past its byte limit, without a length, or concatenated: refused before the service creates anything.
        using (var tooLarge = await Tus.CreateAsync(holder, 4097))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        }

        using (var deferred = await Tus.CreateAsync(holder, null))
        {
            Assert.Equal(HttpStatusCode.Forbidden, deferred.StatusCode);
        }

        // Terminating its own upload is allowed.
        var second = await Tus.CreateUrlAsync(holder, 10);
        using var delete = await holder.SendAsync(Tus.Request(HttpMethod.Delete, second));
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
    }

    [Fact]
    public async Task RevokingTheKeyThatMadeAnUploadLinkEndsTheLink()
    {
        using var admin = fixture.Frontend.CreateHttpClient(fixture.Frontend.AdminKey);
        using var made = await admin.PostAsJsonAsync("/admin/keys", new { owner = "link-maker" });
        Assert.Equal(HttpStatusCode.Created, made.StatusCode);
        var key = await made.Content.ReadFromJsonAsync<JsonElement>();
        using var maker = fixture.Frontend.CreateHttpClient(key.GetProperty("key").GetString());
        using var link = await maker.PostAsJsonAsync("/upload-links", new { expiresInSeconds = 600 });
        Assert.Equal(HttpStatusCode.Created, link.StatusCode);
        using var holder = fixture.Frontend.CreateHttpClient((await link.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());
        Assert.NotNull(await Tus.CreateUrlAsync(holder, 10));

        using (var revoked = await admin.DeleteAsync($"/admin/keys/{key.GetProperty("id").GetInt64()}"))
        {
            Assert.True(revoked.IsSuccessStatusCode, $"revoking answered {revoked.StatusCode}");
        }

        // Within Auth:KeyCacheTtl (5 s by default) every frontend refuses the link, with the reason.
        var refused = await Eventually.HoldsAsync(
            async () =>
            {
                using var response = await Tus.CreateAsync(holder, 10);
                return response.StatusCode == HttpStatusCode.Unauthorized ? await response.Content.ReadAsStringAsync() : null;
            },
            text => text is not null, TimeSpan.FromSeconds(30), "the link refused after its key was revoked");
        Assert.Contains("revoked", refused);
    }

    [Fact]
    public async Task AForgedOrExpiredUploadLinkIs401WithTheReason()
    {
        using var link = await fixture.Http.PostAsJsonAsync("/upload-links", new { expiresInSeconds = 600 });
        var token = (await link.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
        var forged = token[..^3] + (token[^3] == 'A' ? "BBB" : "AAA");
        using var holder = fixture.Frontend.CreateHttpClient(forged);

        using var response = await Tus.CreateAsync(holder, 10);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("The upload link's signature does not match.", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("{\"expiresInSeconds\":0}", "expiresInSeconds")]
    [InlineData("{\"expiresInSeconds\":99999999999}", "expiresInSeconds")]
    [InlineData("{\"maxBytes\":0}", "maxBytes")]
    public async Task AnUploadLinkRequestOutOfBoundsIs400(string json, string field)
    {
        using var content = new StringContent(json, new MediaTypeHeaderValue("application/json"));
        using var response = await fixture.Http.PostAsync("/upload-links", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty(field, out _));
    }

    [Fact]
    public async Task UploadLinksNeedAKey()
    {
        using var anonymous = fixture.Frontend.CreateHttpClient(null);
        using var response = await anonymous.PostAsJsonAsync("/upload-links", new { expiresInSeconds = 60 });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
