using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;

namespace MediaService.ApiFrontend.Auth;

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
                    ValidateAudience = jwt.Audience is not null,
                    ValidAudience = jwt.Audience,
                    IssuerSigningKeys = [.. jwt.SigningKeys.Select(Key)],
                    ClockSkew = jwt.ClockSkew,
                    RequireExpirationTime = true,
                };
                options.Events = new JwtBearerEvents
                {
                    OnTokenValidated = context =>
                    {
                        var owner = context.Principal?.FindFirst(jwt.OwnerClaim)?.Value;
                        if (owner is null || !OwnerRegex().IsMatch(owner))
                        {
                            context.Fail($"The token has no valid '{jwt.OwnerClaim}' claim to name its owner.");
                            return Task.CompletedTask;
                        }

                        context.Principal!.AddIdentity(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, owner)]));
                        return Task.CompletedTask;
                    },
                };
            });
        }

        return services;
    }

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
