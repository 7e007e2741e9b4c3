using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;
using MediaService.Tests;

namespace MediaService.IntegrationTests;

/// <summary>API keys, admin routes, and owners who never see each other's items.</summary>
[Collection(MediaServiceCollection.Name)]
public sealed class AuthTests(MediaServiceFixture fixture)
{
    private async Task<(long Id, string Key)> NewKeyAsync(string owner, HttpClient? admin = null)
    {
        using var client = admin is null ? fixture.Frontend.CreateHttpClient(fixture.Frontend.AdminKey) : null;
        using var response = await (admin ?? client!).PostAsJsonAsync("/admin/keys", new { owner });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(owner, created.GetProperty("owner").GetString());
        return (created.GetProperty("id").GetInt64(), created.GetProperty("key").GetString()!);
    }

    [Fact]
    public async Task WithoutAValidKeyEveryRouteAnswers401ButHealthDocsAndTusCapabilities()
    {
        using var anonymous = fixture.Frontend.CreateHttpClient(key: null);
        using var forged = fixture.Frontend.CreateHttpClient("mk_not-a-key-we-ever-made");

        foreach (var (client, error) in new[] { (anonymous, false), (forged, true) })
        {
            foreach (var route in new[] { "/media", "/media/1234/metadata", "/media/1234/content", "/admin/keys" })
            {
                using var response = await client.GetAsync(route);
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
                var challenge = response.Headers.WwwAuthenticate.Single();
                Assert.Equal("Bearer", challenge.Scheme);
                Assert.Equal(error, challenge.Parameter?.Contains("invalid_token") == true);
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }

            using var upload = await client.PostAsync("/media/upload", new ByteArrayContent([1, 2, 3]));
            Assert.Equal(HttpStatusCode.Unauthorized, upload.StatusCode);
            using var tus = await client.SendAsync(Tus.Request(HttpMethod.Post, "/files/"));
            Assert.Equal(HttpStatusCode.Unauthorized, tus.StatusCode);
        }

        foreach (var route in new[] { "/health/live", "/health/ready", "/openapi/v1.json" })
        {
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(route)).StatusCode);
        }

        using var options = await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Options, "/files/"));
        Assert.Equal(HttpStatusCode.NoContent, options.StatusCode);
    }

    [Fact]
    public async Task AnAdminMakesListsAndRevokesKeysAndARevokedKeyStopsWorkingOnEveryFrontend()
    {
        using var admin = fixture.Frontend.CreateHttpClient(fixture.Frontend.AdminKey);
        using (var user = await fixture.Http.PostAsJsonAsync("/admin/keys", new { owner = "x" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, user.StatusCode); // a user key is not an admin key
        }

        using (var bad = await admin.PostAsJsonAsync("/admin/keys", new { owner = "no spaces allowed" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        var (id, key) = await NewKeyAsync("carol", admin);
        var listing = await admin.GetFromJsonAsync<JsonElement>("/admin/keys");
        var listed = listing.EnumerateArray().Single(k => k.GetProperty("id").GetInt64() == id);
        Assert.Equal("carol", listed.GetProperty("owner").GetString());
        Assert.False(listed.TryGetProperty("key", out _));
        Assert.DoesNotContain(key, listing.GetRawText());

        await using var second = new FrontendFactory(fixture.Cluster.Options.ClusterId, fixture.ServiceId);
        using var viaFirst = fixture.Frontend.CreateHttpClient(key);
        using var viaSecond = second.CreateHttpClient(key);
        Assert.Equal(HttpStatusCode.OK, (await viaFirst.GetAsync("/media")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viaSecond.GetAsync("/media")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/admin/keys/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/admin/keys/{id}")).StatusCode);
        foreach (var client in new[] { viaFirst, viaSecond })
        {
            await Eventually.HoldsAsync(async () => (await client.GetAsync("/media")).StatusCode, s => s == HttpStatusCode.Unauthorized,
                TimeSpan.FromSeconds(15), "the revoked key refused");
        }
    }

    [Fact]
    public async Task AnotherOwnersItemIsNotFoundOnEveryRouteAndNothingChanges()
    {
        var (_, aliceKey) = await NewKeyAsync("alice");
        var (_, bobKey) = await NewKeyAsync("bob");
        using var alice = fixture.Frontend.CreateHttpClient(aliceKey);
        using var bob = fixture.Frontend.CreateHttpClient(bobKey);
        var tag = $"iso{Guid.NewGuid():N}"[..12];

        var photo = await MediaFiles.UploadAsync(alice, MediaCorpus.Image(120, 80, new SixLabors.ImageSharp.Formats.Png.PngEncoder()), "a.png", "image/png");
        await MediaFiles.ProcessedAsync(alice, photo);
        using (var patch = new HttpRequestMessage(HttpMethod.Patch, $"/media/{photo}/metadata") { Content = new StringContent($$"""{"tags":["{{tag}}"]}""") })
        {
            patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/merge-patch+json");
            Assert.Equal(HttpStatusCode.OK, (await alice.SendAsync(patch)).StatusCode);
        }

        var unfinished = await Tus.CreateUrlAsync(alice, 10);
        using (var first = await Tus.PatchAsync(alice, unfinished, 0, Tus.Chunk(Encoding.ASCII.GetBytes("01234"))))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        using var partial = await alice.SendAsync(PartialRequest());
        var partialUrl = partial.Headers.Location!.ToString();
        var before = await alice.GetFromJsonAsync<JsonElement>($"/media/{photo}/metadata");
        var unfinishedBefore = Tus.Offset(await Tus.HeadAsync(alice, unfinished));

        // Bob, through every route.
        foreach (var route in new[] { $"/media/{photo}", $"/media/{photo}/metadata", $"/media/{photo}/content", $"/media/{photo}/renditions/thumb.webp" })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync(route)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await bob.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/media/{photo}/content"))).StatusCode);
        using (var patch = new HttpRequestMessage(HttpMethod.Patch, $"/media/{photo}/metadata") { Content = new StringContent("""{"title":"mine now"}""") })
        {
            patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/merge-patch+json");
            Assert.Equal(HttpStatusCode.NotFound, (await bob.SendAsync(patch)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await bob.DeleteAsync($"/media/{photo}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Tus.HeadAsync(bob, unfinished)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Tus.PatchAsync(bob, unfinished, 5, Tus.Chunk(Encoding.ASCII.GetBytes("56789")))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.SendAsync(Tus.Request(HttpMethod.Delete, unfinished))).StatusCode);
        using (var final = Tus.Request(HttpMethod.Post, "/files/"))
        {
            final.Headers.Add("Upload-Concat", $"final;{partialUrl}");
            var concat = await bob.SendAsync(final);
            Assert.True(concat.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"concatenation of another's partial: {concat.StatusCode}");
        }

        var search = await bob.GetFromJsonAsync<JsonElement>($"/media?tag={tag}");
        Assert.Empty(search.GetProperty("items").EnumerateArray());

        // Nothing changed for Alice.
        var after = await alice.GetFromJsonAsync<JsonElement>($"/media/{photo}/metadata");
        Assert.Equal(before.GetProperty("version").GetInt64(), after.GetProperty("version").GetInt64());
        Assert.Equal(unfinishedBefore, Tus.Offset(await Tus.HeadAsync(alice, unfinished)));
        Assert.Equal([photo], (await alice.GetFromJsonAsync<JsonElement>($"/media?tag={tag}")).GetProperty("items").EnumerateArray()
            .Select(i => i.GetProperty("id").GetInt64()));
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"/media/{photo}/renditions/thumb.webp")).StatusCode);
    }

    [Fact]
    public async Task AShareLinkOpensContentAndRenditionsWithoutAKeyUntilItExpiresAndOnlyAsSigned()
    {
        var id = await MediaFiles.UploadAsync(fixture.Http, MediaCorpus.Image(90, 60, new SixLabors.ImageSharp.Formats.Png.PngEncoder()), "s.png", "image/png");
        await MediaFiles.ProcessedAsync(fixture.Http, id);
        var other = await MediaFiles.UploadAsync(fixture.Http, Encoding.ASCII.GetBytes("other"), "o.txt", "text/plain");
        using var anonymous = fixture.Frontend.CreateHttpClient(key: null);

        using var created = await fixture.Http.PostAsJsonAsync($"/media/{id}/links", new { expiresInSeconds = 2 });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var link = await created.Content.ReadFromJsonAsync<JsonElement>();
        var content = link.GetProperty("content").GetString()!;
        var thumb = link.GetProperty("renditions").GetProperty("thumb.webp").GetString()!;

        Assert.Equal(await fixture.Http.GetByteArrayAsync($"/media/{id}/content"), await anonymous.GetByteArrayAsync(content));
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(thumb)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/media/{id}/metadata?{new Uri("http://x" + content).Query[1..]}")).StatusCode);

        var tampered = content.Replace("sig=", "sig=A", StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.GetAsync(tampered)).StatusCode);
        var elsewhere = content.Replace($"/media/{id}/", $"/media/{other}/", StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.GetAsync(elsewhere)).StatusCode);
        var later = System.Text.RegularExpressions.Regex.Replace(content, "expires=([0-9]+)", m => $"expires={long.Parse(m.Groups[1].Value) + 3600}");
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.GetAsync(later)).StatusCode);

        await Eventually.HoldsAsync(async () => (await anonymous.GetAsync(content)).StatusCode, s => s == HttpStatusCode.Forbidden,
            TimeSpan.FromSeconds(10), "the link expiring");
        using var expired = await anonymous.GetAsync(content);
        Assert.Contains("expired", (await expired.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());

        var (_, bobKey) = await NewKeyAsync("bob-links");
        using var bob = fixture.Frontend.CreateHttpClient(bobKey);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.PostAsJsonAsync($"/media/{id}/links", new { })).StatusCode);
        using (var fresh = await fixture.Http.PostAsJsonAsync($"/media/{id}/links", new { }))
        {
            // A client that sends its own key with someone's link still gets what the link opens.
            var freshContent = (await fresh.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("content").GetString()!;
            Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync(freshContent)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await fixture.Http.PostAsJsonAsync($"/media/{id}/links", new { expiresInSeconds = 0 })).StatusCode);
    }

    private static readonly byte[] JwtSecret = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    private FrontendFactory JwtFrontend(Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Auth:Jwt:Issuer"] = "https://issuer.test",
            ["Auth:Jwt:Audience"] = "media",
            ["Auth:Jwt:SigningKeys:0"] = Convert.ToBase64String(JwtSecret),
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        return new FrontendFactory(fixture.Cluster.Options.ClusterId, fixture.ServiceId, settings);
    }

    private static string Token(string owner, DateTime? expires = null, byte[]? key = null, string audience = "media", Dictionary<string, object>? claims = null)
    {
        var all = new Dictionary<string, object>(claims ?? []) { ["sub"] = owner };
        return new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Issuer = "https://issuer.test",
            Audience = audience,
            NotBefore = DateTime.UtcNow.AddMinutes(-10),
            Expires = expires ?? DateTime.UtcNow.AddMinutes(5),
            Claims = all,
            SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(
                new Microsoft.IdentityModel.Tokens.SymmetricSecurityKey(key ?? JwtSecret), Microsoft.IdentityModel.Tokens.SecurityAlgorithms.HmacSha256),
        });
    }

    [Fact]
    public async Task JwtOwnersLiveInTheirOwnNamespaceAndBadTokensAre401()
    {
        await using var frontend = JwtFrontend();
        using var carla = frontend.CreateHttpClient(Token("carla"));
        var id = await MediaFiles.UploadAsync(carla, Encoding.ASCII.GetBytes("by token"), "t.txt", "text/plain");
        Assert.Equal(HttpStatusCode.OK, (await carla.GetAsync($"/media/{id}/metadata")).StatusCode);

        // An API key of the owner "carla" is someone else; so is another token's owner.
        var (_, carlaKey) = await NewKeyAsync("carla");
        using var carlaByKey = frontend.CreateHttpClient(carlaKey);
        Assert.Equal(HttpStatusCode.NotFound, (await carlaByKey.GetAsync($"/media/{id}/metadata")).StatusCode);
        using var dan = frontend.CreateHttpClient(Token("dan"));
        Assert.Equal(HttpStatusCode.NotFound, (await dan.GetAsync($"/media/{id}/metadata")).StatusCode);

        // A token whose subject is an API key's owner does not see that owner's items, even naming the identifier claim.
        var devItem = await MediaFiles.UploadAsync(frontend.CreateHttpClient(), Encoding.ASCII.GetBytes("dev's"), "d.txt", "text/plain");
        using var posing = frontend.CreateHttpClient(Token("dev", claims: new()
        {
            [System.Security.Claims.ClaimTypes.NameIdentifier] = "dev",
        }));
        Assert.Equal(HttpStatusCode.NotFound, (await posing.GetAsync($"/media/{devItem}/metadata")).StatusCode);

        foreach (var bad in new[]
        {
            Token("carla", expires: DateTime.UtcNow.AddMinutes(-5)),
            Token("carla", key: System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            Token("carla", audience: "someone-else"),
            Token("not an owner!"),
        })
        {
            using var client = frontend.CreateHttpClient(bad);
            using var response = await client.GetAsync($"/media/{id}/metadata");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.First().Scheme);
        }
    }

    [Fact]
    public async Task AJwtIsNeverAdminByTheServicesOwnClaimsOnlyByTheDocumentedMapping()
    {
        var selfMade = Token("mallory", claims: new() { ["media:admin"] = "true", ["media:key"] = "1", ["roles"] = "media-admin" });
        await using (var plain = JwtFrontend())
        {
            using var client = plain.CreateHttpClient(selfMade);
            Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/admin/keys")).StatusCode);
        }

        await using var mapped = JwtFrontend(new() { ["Auth:Jwt:AdminClaimType"] = "roles", ["Auth:Jwt:AdminClaimValue"] = "media-admin" });
        using var admin = mapped.CreateHttpClient(selfMade);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/admin/keys")).StatusCode);
        using var notAdmin = mapped.CreateHttpClient(Token("mallory", claims: new() { ["roles"] = "viewer" }));
        Assert.Equal(HttpStatusCode.Forbidden, (await notAdmin.GetAsync("/admin/keys")).StatusCode);
    }

    [Fact]
    public void AnIssuerWithoutAnAudienceStopsTheStart()
    {
        var failure = Assert.ThrowsAny<Exception>(() => new FrontendFactory(fixture.Cluster.Options.ClusterId, fixture.ServiceId, new Dictionary<string, string?>
        {
            ["Auth:Jwt:Issuer"] = "https://issuer.test",
            ["Auth:Jwt:SigningKeys:0"] = Convert.ToBase64String(JwtSecret),
        }));

        Assert.Contains("Auth:Jwt:Audience is required", failure.ToString());
    }

    [Fact]
    public async Task ARevokedBootstrapKeyNeverStopsAStart()
    {
        var folder = Directory.CreateTempSubdirectory("bootstrap-").FullName;
        var owner = $"boot-{Guid.NewGuid():N}";
        var settings = new Dictionary<string, string?>
        {
            ["Auth:BootstrapAdminKeyFile"] = Path.Combine(folder, "admin-api-key"),
            ["Auth:BootstrapUserKeyFile"] = Path.Combine(folder, "dev-api-key"),
            ["Auth:BootstrapUserOwner"] = owner,
        };
        string userKey;
        await using (var first = new FrontendFactory(fixture.Cluster.Options.ClusterId, fixture.ServiceId, settings))
        {
            userKey = first.UserKey;
            using var admin = first.CreateHttpClient(first.AdminKey);
            var keys = await admin.GetFromJsonAsync<JsonElement>("/admin/keys");
            var hash = keys.EnumerateArray().First(k => k.GetProperty("owner").GetString() == owner && !k.TryGetProperty("revokedAt", out _));
            Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/admin/keys/{hash.GetProperty("id").GetInt64()}")).StatusCode);
        }

        await using var second = new FrontendFactory(fixture.Cluster.Options.ClusterId, fixture.ServiceId, settings);
        using var revoked = second.CreateHttpClient(userKey);
        Assert.Equal(HttpStatusCode.Unauthorized, (await revoked.GetAsync("/media")).StatusCode);
        using var admin2 = second.CreateHttpClient(second.AdminKey);
        Assert.Equal(HttpStatusCode.OK, (await admin2.GetAsync("/admin/keys")).StatusCode);
    }

    [Fact]
    public async Task AnOperatorsUnsignedBootstrapKeyIsHonouredAndOtherUnsignedKeysAreNot()
    {
        var folder = Directory.CreateTempSubdirectory("bootstrap-").FullName;
        var operatorKey = "mk_operator-made-" + Guid.NewGuid().ToString("N");
        await File.WriteAllTextAsync(Path.Combine(folder, "dev-api-key"), operatorKey + "\n");
        await using var frontend = new FrontendFactory(fixture.Cluster.Options.ClusterId, fixture.ServiceId, new Dictionary<string, string?>
        {
            ["Auth:BootstrapAdminKeyFile"] = Path.Combine(folder, "admin-api-key"),
            ["Auth:BootstrapUserKeyFile"] = Path.Combine(folder, "dev-api-key"),
        });

        using var client = frontend.CreateHttpClient(operatorKey);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/media")).StatusCode);
        using var other = frontend.CreateHttpClient("mk_operator-made-" + Guid.NewGuid().ToString("N"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await other.GetAsync("/media")).StatusCode);
    }

    private static HttpRequestMessage PartialRequest()
    {
        var request = Tus.Request(HttpMethod.Post, "/files/");
        request.Headers.Add("Upload-Concat", "partial");
        request.Headers.Add("Upload-Length", "3");
        return request;
    }
}
