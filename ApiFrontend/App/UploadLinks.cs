using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using MediaService.ApiFrontend.Access;
using MediaService.ApiFrontend.Limits;
using MediaService.ApiFrontend.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace MediaService.ApiFrontend.App;

/// <summary>What an upload link grants: uploads into <paramref name="Owner"/>'s library until <paramref name="ExpiresAt"/>,
/// each of at most <paramref name="MaxBytes"/> bytes when set.</summary>
/// <param name="Owner">The owner whose key made the link; uploads through it are theirs.</param>
/// <param name="ExpiresAt">When the link stops working (whole seconds).</param>
/// <param name="MaxBytes">The largest upload it allows (its <c>Upload-Length</c>), or none beyond the service's own limit.</param>
/// <param name="Nonce">Random, per link: no two links have the same token.</param>
/// <param name="Limits">The rate-limit buckets of the key (or token) that made the link: its holder spends them, so that
/// making links never multiplies a key's limits (<see cref="Limits.RateLimitMiddleware.LimitKey"/>).</param>
public sealed record UploadLinkGrant(string Owner, DateTimeOffset ExpiresAt, long? MaxBytes, string Nonce, string Limits = "");

/// <summary>
/// The upload link token: <c>mul_</c>, the grant (base64url of <c>expires\nmaxBytes\nnonce\nlimits\nowner</c>), a dot, and an
/// HMAC-SHA256 of the grant under the service secret <c>upload-links</c> (<see cref="ServiceSecrets"/>, shared by every
/// frontend; a secret of its own, so that no share link or key signature can ever pass for one). Pure functions, so
/// that unit tests drive them.
/// </summary>
public static class UploadLinkToken
{
    /// <summary>What every token starts with (and no API key or JWT does).</summary>
    public const string Prefix = "mul_";

    /// <summary>Longer tokens are refused before any decoding.</summary>
    public const int MaxLength = 1024;

    /// <summary>Whether <paramref name="presented"/> is meant as an upload link (its prefix).</summary>
    public static bool IsToken(string presented) => presented.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The token of <paramref name="grant"/> under <paramref name="secret"/>.</summary>
    public static string Issue(byte[] secret, UploadLinkGrant grant)
    {
        var payload = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{grant.ExpiresAt.ToUnixTimeSeconds()}\n{grant.MaxBytes}\n{grant.Nonce}\n{grant.Limits}\n{grant.Owner}"));
        return $"{Prefix}{System.Buffers.Text.Base64Url.EncodeToString(payload)}.{System.Buffers.Text.Base64Url.EncodeToString(Sign(secret, payload))}";
    }

    /// <summary>The grant of a genuine, unexpired token; otherwise null with the reason.</summary>
    public static (UploadLinkGrant? Grant, string? Reason) Read(byte[] secret, string token, DateTimeOffset now)
    {
        var dot = token.IndexOf('.');
        if (!IsToken(token) || token.Length > MaxLength || dot < 0 || dot != token.LastIndexOf('.'))
        {
            return (null, "The upload link is malformed.");
        }

        byte[] payload, signature;
        try
        {
            payload = System.Buffers.Text.Base64Url.DecodeFromChars(token.AsSpan(Prefix.Length, dot - Prefix.Length));
            signature = System.Buffers.Text.Base64Url.DecodeFromChars(token.AsSpan(dot + 1));
        }
        catch (FormatException)
        {
            return (null, "The upload link is malformed.");
        }

        // The signature first: nothing of an unsigned payload is read.
        if (!CryptographicOperations.FixedTimeEquals(Sign(secret, payload), signature))
        {
            return (null, "The upload link's signature does not match.");
        }

        var parts = Encoding.UTF8.GetString(payload).Split('\n', 5);
        if (parts.Length != 5 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || (parts[1].Length > 0 && !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out _)) || parts[4].Length == 0)
        {
            return (null, "The upload link is malformed.");
        }

        if (expires <= now.ToUnixTimeSeconds())
        {
            return (null, "The upload link has expired.");
        }

        long? max = parts[1].Length > 0 ? long.Parse(parts[1], CultureInfo.InvariantCulture) : null;
        return (new UploadLinkGrant(parts[4], DateTimeOffset.FromUnixTimeSeconds(expires), max, parts[2], parts[3]), null);
    }

    private static byte[] Sign(byte[] secret, byte[] payload) =>
        HMACSHA256.HashData(secret, (byte[])[.. "upload-link\n"u8, .. payload]);
}

/// <summary>
/// Upload links: an owner with a key makes an expiring link (<c>POST /upload-links</c>) whose holder can upload into the
/// owner's library from <c>/app/</c> without the key. The token travels in the URL's fragment (never sent to the
/// server) and then as <c>Authorization: Bearer</c>; it opens the tus upload routes and the status of single items
/// (<c>GET /media/{id}</c>) and nothing else (<see cref="UploadLinkScope.UseUploadLinkScope"/>). It ends when it expires (its
/// lifetime is bounded by <c>Auth:MaxLinkLifetime</c>) or when the key that made it is revoked.
/// </summary>
public sealed class UploadLinks(ServiceSecrets secrets, Access.ApiKeys keys, TimeProvider time)
{
    /// <summary>The name of the secret that signs upload links.</summary>
    public const string SecretName = "upload-links";

    /// <summary>The claim that marks a request made through an upload link (its value: the link's byte limit, or empty).</summary>
    public const string Claim = "media:upload-link";

    /// <summary>Where the authentication handler leaves why a presented link was refused (for the 401's detail).</summary>
    public const string FailureItem = "media:upload-link-failure";

    /// <summary>A new link's token.</summary>
    public async Task<string> IssueAsync(UploadLinkGrant grant) => UploadLinkToken.Issue(await secrets.GetAsync(SecretName), grant);

    /// <summary>The authentication of a request that presents <paramref name="token"/>.</summary>
    public async Task<AuthenticateResult> AuthenticateAsync(HttpContext context, string token, string scheme)
    {
        var (grant, reason) = UploadLinkToken.Read(await secrets.GetAsync(SecretName), token, time.GetUtcNow());
        if (grant is not null && MakerKeyId(grant) is { } keyId && !await keys.IsActiveAsync(keyId, context.RequestAborted))
        {
            // Revoking a key ends the links it made (within Auth:KeyCacheTtl on every frontend).
            (grant, reason) = (null, "The key that made this upload link was revoked.");
        }

        if (grant is null)
        {
            context.Items[FailureItem] = reason;
            return AuthenticateResult.Fail(reason!);
        }

        List<System.Security.Claims.Claim> claims =
        [
            new(ClaimTypes.NameIdentifier, grant.Owner),
            // The buckets of the key that made it: links share their maker's limits, they never add to them.
            new(Limits.RateLimitMiddleware.LimitsClaim, grant.Limits.Length > 0 ? grant.Limits : $"owner-{grant.Owner}"),
            new(Claim, grant.MaxBytes?.ToString(CultureInfo.InvariantCulture) ?? string.Empty),
        ];
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, scheme)), scheme));
    }

    /// <summary>The id of the API key that made a link (its buckets are <c>key-{id}</c>), or null for a link a JWT owner made.</summary>
    internal static long? MakerKeyId(UploadLinkGrant grant) =>
        grant.Limits.StartsWith("key-", StringComparison.Ordinal)
        && long.TryParse(grant.Limits.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
}

/// <summary>What a request made through an upload link may reach.</summary>
public static class UploadLinkScope
{
    /// <summary>
    /// After authentication: a request made through an upload link may only create a tus upload (with an
    /// <c>Upload-Length</c> within the link's limit; no deferred length, no concatenation), read its offset, append to it,
    /// terminate it, and read one item's status (<c>GET /media/{id}</c>). Anything else is 403 <c>forbidden</c>.
    /// </summary>
    public static IApplicationBuilder UseUploadLinkScope(this IApplicationBuilder app) => app.Use(static async (context, next) =>
    {
        if (context.User.FindFirst(UploadLinks.Claim) is not { } claim)
        {
            await next(context);
            return;
        }

        if (Refusal(context.Request, claim.Value) is { } refused)
        {
            await refused.ExecuteAsync(context);
            return;
        }

        await next(context);
    });

    /// <summary>Why a request through an upload link (whose byte limit is <paramref name="maxBytes"/>, empty for none)
    /// is refused, or null when the link opens it.</summary>
    internal static ProblemHttpResult? Refusal(HttpRequest request, string maxBytes)
    {
        var path = request.Path.Value ?? string.Empty;
        var method = request.Method;
        if (path is "/files" or "/files/" && HttpMethods.IsPost(method))
        {
            var headers = request.Headers;
            if (headers.ContainsKey("Upload-Concat") || headers.ContainsKey("Upload-Defer-Length"))
            {
                return ApiErrors.Forbidden.Problem("An upload link creates whole uploads only: no Upload-Concat, no Upload-Defer-Length.");
            }

            if (!long.TryParse(headers["Upload-Length"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            {
                return ApiErrors.Forbidden.Problem("An upload through a link must declare its Upload-Length.");
            }

            if (long.TryParse(maxBytes, NumberStyles.None, CultureInfo.InvariantCulture, out var max) && length > max)
            {
                return ApiErrors.UploadTooLarge.Problem($"This upload link allows files of at most {max} bytes.");
            }

            return null;
        }

        // Capabilities (anonymous anyway), and an upload's offset (HEAD, or GET in the IETF draft's version 8), appends
        // and termination.
        if ((path is "/files" or "/files/" && HttpMethods.IsOptions(method))
            || (IsItemPath(path, "/files/") && (HttpMethods.IsHead(method) || HttpMethods.IsGet(method) || HttpMethods.IsPatch(method)
                || HttpMethods.IsDelete(method) || HttpMethods.IsOptions(method))))
        {
            return null;
        }

        if (IsItemPath(path, "/media/") && HttpMethods.IsGet(method))
        {
            return null;
        }

        return ApiErrors.Forbidden.Problem("An upload link opens only uploads (/files/) and the status of an item (GET /media/{id}).");
    }

    private static bool IsItemPath(string path, string prefix) =>
        path.StartsWith(prefix, StringComparison.Ordinal) && path.Length > prefix.Length && path.AsSpan(prefix.Length).IndexOfAnyExceptInRange('0', '9') < 0;
}

/// <summary>The route that makes upload links.</summary>
public static class UploadLinkEndpoints
{
    /// <summary>Maps <c>POST /upload-links</c>.</summary>
    public static IEndpointRouteBuilder MapUploadLinks(this IEndpointRouteBuilder app)
    {
        app.MapPost("/upload-links", CreateAsync).WithTags("Upload links").WithName("CreateUploadLink")
            .WithSummary("A link that lets its holder upload into the caller's library from /app/ without a key, until it expires.")
            .WithDescription("The token opens only the tus upload routes and GET /media/{id}; send it as Authorization: Bearer. "
                + "The page URL carries it in its fragment, which browsers never send.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    internal static async Task<Results<Created<UploadLink>, ProblemHttpResult>> CreateAsync(
        HttpContext context, UploadLinks links, IOptions<AuthOptions> options, TimeProvider time, UploadLinkRequest? request)
    {
        var limits = options.Value;
        var maxSeconds = (long)limits.MaxLinkLifetime.TotalSeconds;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (request?.ExpiresInSeconds is { } asked && (asked < 1 || asked > maxSeconds))
        {
            errors["expiresInSeconds"] = [$"From 1 to {maxSeconds} seconds."];
        }

        if (request?.MaxBytes is < 1)
        {
            errors["maxBytes"] = ["At least 1 byte."];
        }

        if (errors.Count > 0)
        {
            return Problems.Invalid(errors);
        }

        var lifetime = request?.ExpiresInSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : limits.DefaultLinkLifetime;
        var expires = DateTimeOffset.FromUnixTimeSeconds((time.GetUtcNow() + lifetime).ToUnixTimeSeconds());
        var grant = new UploadLinkGrant(context.User.Owner(), expires, request?.MaxBytes,
            System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(12)), context.User.LimitKey());
        var token = await links.IssueAsync(grant);
        var url = $"{WebApp.Path}/#upload={token}";
        return TypedResults.Created(url, new UploadLink(url, token, expires, request?.MaxBytes));
    }
}

/// <summary>A request for an upload link.</summary>
/// <param name="ExpiresInSeconds">How long the link works; default <c>Auth:DefaultLinkLifetime</c>, at most <c>Auth:MaxLinkLifetime</c>.</param>
/// <param name="MaxBytes">The largest file it may upload; by default only the service's own limit applies.</param>
public sealed record UploadLinkRequest(long? ExpiresInSeconds, long? MaxBytes);

/// <summary>An upload link.</summary>
/// <param name="Url">The page to open (relative to the service): the token is in its fragment.</param>
/// <param name="Token">The token itself, for clients other than the page (send it as <c>Authorization: Bearer</c>).</param>
/// <param name="ExpiresAt">When it stops working.</param>
/// <param name="MaxBytes">The largest file it may upload, when limited.</param>
public sealed record UploadLink(string Url, string Token, DateTimeOffset ExpiresAt, long? MaxBytes);
