using System.Security.Cryptography;
using MediaService.ApiFrontend.App;
using Microsoft.AspNetCore.Http;

namespace MediaService.UnitTests;

public sealed class UploadLinkTests
{
    private static readonly byte[] Secret = RandomNumberGenerator.GetBytes(32);
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    private static UploadLinkGrant Grant(string owner = "alice", long? maxBytes = 1_000_000, TimeSpan? lifetime = null) =>
        new(owner, Now + (lifetime ?? TimeSpan.FromHours(1)), maxBytes, "n0nce", "key-42");

    [Theory]
    [InlineData("alice", 1_000_000L)]
    [InlineData("jwt:bob@example.com", null)]
    [InlineData("été\nmulti line", 5L)]
    public void AnIssuedTokenReadsBackItsGrant(string owner, long? maxBytes)
    {
        var grant = Grant(owner, maxBytes);
        var token = UploadLinkToken.Issue(Secret, grant);

        var (read, reason) = UploadLinkToken.Read(Secret, token, Now);

        Assert.Null(reason);
        Assert.Equal(grant, read);
        Assert.StartsWith(UploadLinkToken.Prefix, token);
        // One dot: never taken for a JWT (two dots), and URL-safe (it travels in a fragment and a header).
        Assert.Equal(1, token.Count(c => c == '.'));
        Assert.Matches("^[A-Za-z0-9_.-]+$", token);
    }

    [Fact]
    public void ALinksRequestsSpendTheBucketsOfTheKeyThatMadeIt()
    {
        var link = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(
        [
            new System.Security.Claims.Claim(System.Security.Claims.ClaimTypes.NameIdentifier, "alice"),
            new System.Security.Claims.Claim(MediaService.ApiFrontend.Limits.RateLimitMiddleware.LimitsClaim, "key-42"),
        ], "test"));
        var key = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(
        [
            new System.Security.Claims.Claim(System.Security.Claims.ClaimTypes.NameIdentifier, "alice"),
            new System.Security.Claims.Claim("media:key", "42"),
        ], "test"));

        Assert.Equal("key-42", MediaService.ApiFrontend.Limits.RateLimitMiddleware.LimitKey(link));
        Assert.Equal(MediaService.ApiFrontend.Limits.RateLimitMiddleware.LimitKey(key), MediaService.ApiFrontend.Limits.RateLimitMiddleware.LimitKey(link));
    }

    [Theory]
    [InlineData("key-42", 42L)]
    [InlineData("owner-jwt:alice", null)]
    [InlineData("key-", null)]
    [InlineData("key-4x", null)]
    [InlineData("", null)]
    public void TheMakersKeyIsKnownForLinksAKeyMade(string limits, long? id) =>
        Assert.Equal(id, UploadLinks.MakerKeyId(Grant() with { Limits = limits }));

    [Fact]
    public void AnExpiredTokenIsRefused()
    {
        var token = UploadLinkToken.Issue(Secret, Grant(lifetime: TimeSpan.FromMinutes(5)));

        Assert.NotNull(UploadLinkToken.Read(Secret, token, Now + TimeSpan.FromMinutes(4)).Grant);
        var (grant, reason) = UploadLinkToken.Read(Secret, token, Now + TimeSpan.FromMinutes(5));
        Assert.Null(grant);
        Assert.Equal("The upload link has expired.", reason);
    }

    [Fact]
    public void ATokenSignedUnderAnotherSecretIsRefused()
    {
        var token = UploadLinkToken.Issue(RandomNumberGenerator.GetBytes(32), Grant());

        var (grant, reason) = UploadLinkToken.Read(Secret, token, Now);

        Assert.Null(grant);
        Assert.Equal("The upload link's signature does not match.", reason);
    }

    [Fact]
    public void AChangedGrantDoesNotMatchItsSignature()
    {
        var token = UploadLinkToken.Issue(Secret, Grant(owner: "alice", maxBytes: 10));
        var forged = UploadLinkToken.Issue(Secret, Grant(owner: "mallory", maxBytes: null));
        // Mallory's grant with alice's signature, and the other way round.
        var swapped = forged[..forged.IndexOf('.')] + token[token.IndexOf('.')..];

        Assert.Null(UploadLinkToken.Read(Secret, swapped, Now).Grant);
        Assert.Null(UploadLinkToken.Read(Secret, token[..^2] + (token[^2] == 'A' ? "BA" : "AA"), Now).Grant);
    }

    [Theory]
    [InlineData("mul_")]
    [InlineData("mul_abc")]
    [InlineData("mul_a.b.c")]
    [InlineData("mul_!!!.???")]
    [InlineData("mk_abc.def")]
    [InlineData("")]
    public void MalformedTokensAreRefusedWithoutAnException(string token)
    {
        var (grant, reason) = UploadLinkToken.Read(Secret, token, Now);

        Assert.Null(grant);
        Assert.NotNull(reason);
    }

    [Fact]
    public void AnOverlongTokenIsRefusedBeforeDecoding()
    {
        var token = UploadLinkToken.Prefix + new string('A', UploadLinkToken.MaxLength) + ".AA";

        Assert.Equal("The upload link is malformed.", UploadLinkToken.Read(Secret, token, Now).Reason);
    }

    [Theory]
    [InlineData("POST", "/files/", true)]
    [InlineData("POST", "/files", true)]
    [InlineData("HEAD", "/files/4502084102828374", true)]
    [InlineData("PATCH", "/files/4502084102828374", true)]
    [InlineData("DELETE", "/files/4502084102828374", true)]
    [InlineData("OPTIONS", "/files/4502084102828374", true)]
    [InlineData("GET", "/media/4502084102828374", true)]
    [InlineData("GET", "/media", false)]
    [InlineData("GET", "/media/4502084102828374/content", false)]
    [InlineData("GET", "/media/4502084102828374/renditions/thumb.webp", false)]
    [InlineData("PATCH", "/media/4502084102828374/metadata", false)]
    [InlineData("DELETE", "/media/4502084102828374", false)]
    [InlineData("POST", "/media/upload", false)]
    [InlineData("POST", "/media/4502084102828374/links", false)]
    [InlineData("POST", "/upload-links", false)]
    [InlineData("GET", "/admin/keys", false)]
    [InlineData("GET", "/files/4502084102828374", true)]
    [InlineData("OPTIONS", "/files/", true)]
    [InlineData("PATCH", "/files/", false)]
    [InlineData("HEAD", "/files/12/../13", false)]
    public void ALinkOpensOnlyUploadsAndTheStatusOfAnItem(string method, string path, bool opened)
    {
        var request = Request(method, path, ("Upload-Length", "100"));

        var refusal = UploadLinkScope.Refusal(request, "1000");

        Assert.Equal(opened, refusal is null);
        if (refusal is not null)
        {
            Assert.Equal(StatusCodes.Status403Forbidden, refusal.StatusCode);
        }
    }

    [Fact]
    public void ACreationPastTheLinksLimitIs413AndOneWithoutALengthOrConcatenatedIs403()
    {
        Assert.Null(UploadLinkScope.Refusal(Request("POST", "/files/", ("Upload-Length", "1000")), "1000"));
        Assert.Null(UploadLinkScope.Refusal(Request("POST", "/files/", ("Upload-Length", "999999999")), ""));
        Assert.Equal(413, UploadLinkScope.Refusal(Request("POST", "/files/", ("Upload-Length", "1001")), "1000")!.StatusCode);
        Assert.Equal(403, UploadLinkScope.Refusal(Request("POST", "/files/"), "1000")!.StatusCode);
        Assert.Equal(403, UploadLinkScope.Refusal(Request("POST", "/files/", ("Upload-Defer-Length", "1")), "1000")!.StatusCode);
        Assert.Equal(403, UploadLinkScope.Refusal(Request("POST", "/files/", ("Upload-Length", "10"), ("Upload-Concat", "partial")), "1000")!.StatusCode);
        Assert.Equal(403, UploadLinkScope.Refusal(Request("POST", "/files/", ("Upload-Length", "-1")), "1000")!.StatusCode);
    }

    private static HttpRequest Request(string method, string path, params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        foreach (var (name, value) in headers)
        {
            context.Request.Headers[name] = value;
        }

        return context.Request;
    }
}
