using System.Security.Claims;
using MediaService.ApiFrontend.Access;
using MediaService.ApiFrontend.Limits;

namespace MediaService.UnitTests;

public sealed class JwtPrincipalTests
{
    private static ClaimsPrincipal Token(params (string Type, string Value)[] claims) =>
        new(new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value)), "Jwt"));

    [Fact]
    public void TheOwnerIsNamespacedAndTheServicesOwnClaimsAreDropped()
    {
        var principal = BearerAuthentication.Principal(
            Token(("sub", "dev"), ("media:key", "7"), ("media:admin", "true"), (ClaimTypes.NameIdentifier, "dev"), ("email", "a@b.c")),
            new JwtSettings { Issuer = "https://issuer.test", Audience = "media" }, out var error)!;

        Assert.Null(error);
        Assert.Equal("jwt:dev", principal.Owner());
        Assert.Single(principal.FindAll(ClaimTypes.NameIdentifier));
        Assert.Null(principal.FindFirst("media:key"));
        Assert.Null(principal.FindFirst(ApiKeyAuthenticationHandler.AdminClaim));
        Assert.Equal("owner-jwt:dev", principal.LimitKey()); // never an API key's bucket
        Assert.Equal("a@b.c", principal.FindFirst("email")?.Value);
    }

    [Fact]
    public void TheServicesClaimsAreDroppedWhateverTheirCase()
    {
        var principal = BearerAuthentication.Principal(
            Token(("sub", "mallory"), (ClaimTypes.NameIdentifier.ToUpperInvariant(), "alice"), ("MEDIA:ADMIN", "true"), ("Media:Key", "1")),
            new JwtSettings { Issuer = "i", Audience = "a" }, out _)!;

        Assert.Equal("jwt:mallory", principal.Owner());
        Assert.Single(principal.FindAll(ClaimTypes.NameIdentifier));
        Assert.Null(principal.FindFirst(ApiKeyAuthenticationHandler.AdminClaim));
        Assert.Equal("owner-jwt:mallory", principal.LimitKey());
    }

    [Fact]
    public void OnlyTheConfiguredClaimMakesAnAdmin()
    {
        var settings = new JwtSettings { Issuer = "i", Audience = "a", AdminClaimType = "roles", AdminClaimValue = "media-admin", OwnerNamespace = "corp" };

        var admin = BearerAuthentication.Principal(Token(("sub", "ann"), ("roles", "media-admin")), settings, out _)!;
        var viewer = BearerAuthentication.Principal(Token(("sub", "bob"), ("roles", "viewer"), ("media:admin", "true")), settings, out _)!;

        Assert.Equal("true", admin.FindFirst(ApiKeyAuthenticationHandler.AdminClaim)?.Value);
        Assert.Equal("corp:ann", admin.Owner());
        Assert.Null(viewer.FindFirst(ApiKeyAuthenticationHandler.AdminClaim));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not an owner!")]
    [InlineData("")]
    public void ATokenWithoutAValidOwnerIsRefused(string? subject)
    {
        var token = subject is null ? Token(("email", "x")) : Token(("sub", subject));

        Assert.Null(BearerAuthentication.Principal(token, new JwtSettings { Issuer = "i", Audience = "a" }, out var error));
        Assert.Contains("'sub'", error);
    }
}
