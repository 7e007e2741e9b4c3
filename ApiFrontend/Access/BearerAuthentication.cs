using MediaService.ApiFrontend.Limits;
using MediaService.ApiFrontend.Admin;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;

namespace MediaService.ApiFrontend.Access;

/// <summary>
/// Bearer credentials: API keys always, and JWTs when <c>Auth:Jwt:Issuer</c> is set. A policy scheme sends a token
/// that looks like a JWT (three dot-separated parts) to the JWT handler and anything else to the key handler; a valid
/// JWT's owner claim becomes the caller's owner.
/// </summary>
public static partial class BearerAuthentication
{
    /// <summary>The policy scheme that picks the handler.</summary>
    public const string Scheme = "Bearer";

    private const string JwtScheme = "Jwt";

    /// <summary>Registers the schemes.</summary>
    public static IServiceCollection AddMediaAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        var jwt = configuration.GetSection(AuthOptions.Section).Get<AuthOptions>()?.Jwt ?? new JwtSettings();
        var builder = services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "API key or JWT", options => options.ForwardDefaultSelector = context =>
                jwt.Enabled && context.Request.Headers.Authorization.ToString() is var header
                && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.Count(c => c == '.') == 2
                    ? JwtScheme
                    : ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        if (jwt.Enabled)
        {
            builder.AddJwtBearer(JwtScheme, options =>
            {
                options.MapInboundClaims = false;
                options.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = jwt.Issuer,
                    ValidateAudience = true,
                    ValidAudience = jwt.Audience,
                    IssuerSigningKeys = [.. jwt.SigningKeys.Select(Key)],
                    ClockSkew = jwt.ClockSkew,
                    RequireExpirationTime = true,
                };
                options.Events = new JwtBearerEvents
                {
                    OnTokenValidated = context =>
                    {
                        var principal = Principal(context.Principal!, jwt, out var error);
                        if (principal is null)
                        {
                            context.Fail(error!);
                        }
                        else
                        {
                            context.Principal = principal;
                        }

                        return Task.CompletedTask;
                    },
                    OnAuthenticationFailed = context =>
                    {
                        context.HttpContext.RequestServices.GetRequiredService<MediaService.DataPlane.Telemetry.MediaMetrics>().AuthenticationFailed("jwt");
                        return Task.CompletedTask;
                    },
                };
            });
        }

        return services;
    }

    /// <summary>
    /// The caller a validated token names: its owner is <c>{namespace}:{owner claim}</c> (so that no token can act as
    /// an API key's owner, whose names hold no colon); the claims the service sets itself (<c>media:*</c> and the name
    /// identifier) are dropped from the token before any are added, so that a token cannot pick an API key's rate-limit
    /// bucket or mark itself admin. It is admin only through <see cref="JwtSettings.AdminClaimType"/>. Null (with the
    /// reason) when the owner claim is missing or not a valid name.
    /// </summary>
    public static System.Security.Claims.ClaimsPrincipal? Principal(System.Security.Claims.ClaimsPrincipal token, JwtSettings jwt, out string? error)
    {
        var subject = token.FindFirst(jwt.OwnerClaim)?.Value;
        if (subject is null || !OwnerRegex().IsMatch(subject))
        {
            error = $"The token has no valid '{jwt.OwnerClaim}' claim to name its owner.";
            return null;
        }

        var admin = jwt.AdminClaimType is { Length: > 0 } type
            && token.Claims.Any(c => c.Type == type && c.Value == jwt.AdminClaimValue);
        List<Claim> claims = [.. token.Claims.Where(c => !IsReserved(c.Type))];
        claims.Add(new Claim(ClaimTypes.NameIdentifier, $"{jwt.OwnerNamespace}:{subject}"));
        if (admin)
        {
            claims.Add(new Claim(ApiKeyAuthenticationHandler.AdminClaim, "true"));
        }

        error = null;
        return new ClaimsPrincipal(new ClaimsIdentity(claims, JwtScheme, ClaimTypes.NameIdentifier, ClaimTypes.Role));
    }

    // Claim lookups ignore case (ClaimsIdentity.FindFirst), so the reserved types are matched without it too.
    private static bool IsReserved(string type) =>
        type.StartsWith("media:", StringComparison.OrdinalIgnoreCase) || string.Equals(type, ClaimTypes.NameIdentifier, StringComparison.OrdinalIgnoreCase);

    private static SecurityKey Key(string text)
    {
        if (!text.TrimStart().StartsWith("-----BEGIN", StringComparison.Ordinal))
        {
            var secret = Convert.FromBase64String(text);
            return secret.Length >= 32 ? new SymmetricSecurityKey(secret) : throw new InvalidOperationException("Auth:Jwt:SigningKeys: an HMAC secret needs at least 32 bytes.");
        }

        try
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(text);
            return new RsaSecurityKey(rsa);
        }
        catch (ArgumentException)
        {
            var ec = ECDsa.Create();
            ec.ImportFromPem(text);
            return new ECDsaSecurityKey(ec);
        }
    }

    [GeneratedRegex(ApiKeys.OwnerPattern)]
    private static partial Regex OwnerRegex();
}
