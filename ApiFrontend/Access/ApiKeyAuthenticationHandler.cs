using MediaService.ApiFrontend.Limits;
using MediaService.ApiFrontend.Admin;
using System.Security.Claims;
using System.Text.Encodings.Web;
using MediaService.ApiFrontend.Http;
using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace MediaService.ApiFrontend.Access;

/// <summary>
/// <c>Authorization: Bearer &lt;key&gt;</c> with an API key. A missing, unknown or revoked key is answered 401 with
/// <c>WWW-Authenticate: Bearer</c> and problem details; the owner of a valid key is carried to the grains.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeys keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme's name.</summary>
    public const string SchemeName = "ApiKey";

    /// <summary>The claim that marks an admin key.</summary>
    public const string AdminClaim = "media:admin";

    /// <inheritdoc />
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }

        var presented = header["Bearer ".Length..].Trim();
        if (App.UploadLinkToken.IsToken(presented))
        {
            return await Context.RequestServices.GetRequiredService<App.UploadLinks>().AuthenticateAsync(Context, presented, SchemeName);
        }

        var identity = await keys.FindAsync(presented, Context.RequestAborted);
        if (identity is null)
        {
            return AuthenticateResult.Fail("Unknown or revoked key.");
        }

        List<Claim> claims = [new(ClaimTypes.NameIdentifier, identity.Owner), new("media:key", identity.Id.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        if (identity.IsAdmin)
        {
            claims.Add(new Claim(AdminClaim, "true"));
        }

        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
    }

    /// <inheritdoc />
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var presented = Request.Headers.Authorization.Count > 0;
        Response.Headers.WWWAuthenticate = presented ? "Bearer realm=\"media\", error=\"invalid_token\"" : "Bearer realm=\"media\"";
        await ApiErrors.Unauthorized.Problem(Context.Items[App.UploadLinks.FailureItem] as string ?? (presented ? "The key is unknown or revoked." : "Send an API key: Authorization: Bearer <key>.")).ExecuteAsync(Context);
    }

    /// <inheritdoc />
    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        await ApiErrors.Forbidden.Problem("This route needs an admin key.").ExecuteAsync(Context);
}

