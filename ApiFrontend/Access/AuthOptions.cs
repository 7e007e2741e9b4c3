using MediaService.ApiFrontend.Limits;
using MediaService.ApiFrontend.Admin;
using System.ComponentModel.DataAnnotations;

namespace MediaService.ApiFrontend.Access;

/// <summary>Authentication of callers. Section <c>Auth</c>.</summary>
public sealed class AuthOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Auth";

    /// <summary>How long a frontend trusts what it read about a key; a revoked key stops working on every frontend
    /// within this time. Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan KeyCacheTtl { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>While PostgreSQL does not answer, a key this frontend looked up within this time is still honoured as it
    /// was (stale-if-error), so that reads of items in memory and of content in S3 go on through a database outage. A key
    /// never seen, or seen longer ago, is answered 503. Bounds how long a key revoked just before an outage may keep
    /// working. Default 5 min; zero turns it off.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan KeyStaleIfError { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A file holding the admin key. At start-up, if the file is missing, a new admin key is made and written
    /// there (mode 600); if it exists, its key is made known to the service. Unset: no bootstrap.</summary>
    public string? BootstrapAdminKeyFile { get; set; }

    /// <summary>The same for a user key of <see cref="BootstrapUserOwner"/> (a development key).</summary>
    public string? BootstrapUserKeyFile { get; set; }

    /// <summary>How long a share link works when its request names no time. Default 1 h.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan DefaultLinkLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The longest a share link may work. Default 7 days.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan MaxLinkLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Optional JWT bearer tokens, accepted next to API keys.</summary>
    public JwtSettings Jwt { get; set; } = new();

    /// <summary>The owner of the bootstrap user key. Default <c>dev</c>.</summary>
    [Required, RegularExpression(ApiKeys.OwnerPattern)]
    public string BootstrapUserOwner { get; set; } = "dev";

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Jwt.Enabled && string.IsNullOrWhiteSpace(Jwt.Audience))
        {
            yield return new ValidationResult("Auth:Jwt:Audience is required when Auth:Jwt:Issuer is set: a token made for another service must not open this one.",
                [nameof(Jwt)]);
        }

        if (Jwt.Enabled && Jwt.SigningKeys.Length == 0)
        {
            yield return new ValidationResult("Auth:Jwt:SigningKeys needs at least one key when Auth:Jwt:Issuer is set.", [nameof(Jwt)]);
        }

        if (Jwt.Enabled && !System.Text.RegularExpressions.Regex.IsMatch(Jwt.OwnerNamespace, "^[a-z][a-z0-9-]{0,15}$"))
        {
            yield return new ValidationResult("Auth:Jwt:OwnerNamespace: 1 to 16 lower-case letters, digits or dashes, starting with a letter.", [nameof(Jwt)]);
        }

        if (Jwt.AdminClaimType is { Length: > 0 } && string.IsNullOrEmpty(Jwt.AdminClaimValue))
        {
            yield return new ValidationResult("Auth:Jwt:AdminClaimValue is required with Auth:Jwt:AdminClaimType.", [nameof(Jwt)]);
        }
    }
}

/// <summary>JWT bearer tokens (section <c>Auth:Jwt</c>): off unless an issuer is set.</summary>
public sealed class JwtSettings
{
    /// <summary>The issuer tokens must name (<c>iss</c>). Unset: JWTs are not accepted.</summary>
    public string? Issuer { get; set; }

    /// <summary>The audience tokens must name (<c>aud</c>); required with <see cref="Issuer"/>.</summary>
    public string? Audience { get; set; }

    /// <summary>Keys that may sign tokens: a PEM public key (RSA or EC), or a base64 secret (HMAC) of at least 32 bytes.</summary>
    public string[] SigningKeys { get; set; } = [];

    /// <summary>The claim that names the owner. Default <c>sub</c>.</summary>
    public string OwnerClaim { get; set; } = "sub";

    /// <summary>The namespace of token owners: a token's owner is <c>{namespace}:{owner claim}</c>, apart from every API
    /// key's owner (whose names hold no colon). Choose a new one when the issuer changes. Default <c>jwt</c>.</summary>
    public string OwnerNamespace { get; set; } = "jwt";

    /// <summary>A claim that makes a token's caller an admin when it holds <see cref="AdminClaimValue"/> (for example
    /// <c>roles</c> and <c>media-admin</c>). Unset (the default): only admin API keys are admins.</summary>
    public string? AdminClaimType { get; set; }

    /// <summary>The value of <see cref="AdminClaimType"/> that makes an admin.</summary>
    public string? AdminClaimValue { get; set; }

    /// <summary>Clock skew allowed on expiry. Default 1 min.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>True when JWTs are accepted.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Issuer);
}
