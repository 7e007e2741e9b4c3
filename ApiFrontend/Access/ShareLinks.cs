using MediaService.ApiFrontend.Limits;
using MediaService.ApiFrontend.Admin;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MediaService.ApiFrontend.Http;
using MediaService.ApiFrontend.Media;
using MediaService.DataPlane;
using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Polly.Registry;

namespace MediaService.ApiFrontend.Access;

/// <summary>
/// Signed, expiring links to an item's content and renditions, usable without a key (so that a browser can show a
/// rendition). A link is the item's URL with <c>expires</c> (Unix seconds) and <c>sig</c>, an HMAC-SHA256 of the id and
/// the expiry under a secret all frontends of the service share (<see cref="ServiceSecrets"/>, <c>share-links</c>).
/// </summary>
public sealed class ShareLinks(ISecretSource secrets, TimeProvider time)
{
    /// <summary>The name of the secret that signs links.</summary>
    public const string SecretName = "share-links";

    private Task<byte[]> Secret => secrets.GetAsync(SecretName);

    /// <summary>The query string that opens item <paramref name="id"/> until <paramref name="expires"/>.</summary>
    public async Task<string> SignAsync(long id, DateTimeOffset expires)
    {
        var seconds = expires.ToUnixTimeSeconds();
        return $"expires={seconds}&sig={Signature(await Secret, id, seconds)}";
    }

    /// <summary>Whether the request carries a valid, unexpired link to item <paramref name="id"/>: null when it carries
    /// none, else true or false (with the reason).</summary>
    public async Task<(bool Valid, string? Reason)?> CheckAsync(HttpRequest request, long id)
    {
        if (!request.Query.TryGetValue("sig", out var sig) || !request.Query.TryGetValue("expires", out var expires))
        {
            return null;
        }

        if (!long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return (false, "The link is malformed.");
        }

        var expected = Encoding.ASCII.GetBytes(Signature(await Secret, id, seconds));
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(sig.ToString())))
        {
            return (false, "The link's signature does not match.");
        }

        return seconds < time.GetUtcNow().ToUnixTimeSeconds() ? (false, "The link has expired.") : (true, null);
    }

    private static string Signature(byte[] secret, long id, long expires) =>
        System.Buffers.Text.Base64Url.EncodeToString(
            HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"media:{id}:{expires}"))));
}

/// <summary>Share link routes and the access rule of the routes they open.</summary>
public static class ShareLinkEndpoints
{
    /// <summary>Maps <c>POST /media/{id}/links</c>.</summary>
    public static IEndpointRouteBuilder MapShareLinks(this IEndpointRouteBuilder app)
    {
        app.MapPost("/media/{id:long}/links", CreateAsync).WithTags("Media").WithName("CreateShareLink")
            .WithSummary("A link to the item's content and renditions that works without a key until it expires.")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return app;
    }

    internal static async Task<Results<Created<ShareLink>, ProblemHttpResult>> CreateAsync(
        long id, HttpContext context, IClusterClient cluster, ShareLinks links, IOptions<AuthOptions> options, TimeProvider time, ShareLinkRequest? request)
    {
        var limits = options.Value;
        // Compared as seconds first: a number past TimeSpan's range is a bad request, not an overflow.
        var seconds = request?.ExpiresInSeconds;
        var lifetime = seconds is >= 1 && seconds <= (long)limits.MaxLinkLifetime.TotalSeconds ? TimeSpan.FromSeconds(seconds.Value) : limits.DefaultLinkLifetime;
        if (seconds is not null && (seconds < 1 || seconds > (long)limits.MaxLinkLifetime.TotalSeconds))
        {
            return Problems.Invalid(new Dictionary<string, string[]>
            {
                ["expiresInSeconds"] = [$"From 1 to {(long)limits.MaxLinkLifetime.TotalSeconds} seconds."],
            });
        }

        // The caller's own item only (another owner's is not found).
        var view = MediaIds.IsValid(id) ? await cluster.GetGrain<IMediaMetadata>(id).GetMetadataAsync() : null;
        if (view is null)
        {
            return Problems.NotFound(id);
        }

        var expires = time.GetUtcNow() + lifetime;
        var query = await links.SignAsync(id, expires);
        var renditions = view.Processing?.Renditions.IsDefaultOrEmpty == false
            ? view.Processing.Renditions.Select(r => r.Name)
                .Concat(view.Processing.Renditions.Select(r => r.Name.Split('.')[0]).Distinct()) // negotiated by Accept: thumb, display
                .Distinct().ToDictionary(name => name, name => $"/media/{id}/renditions/{name}?{query}")
            : [];
        return TypedResults.Created($"/media/{id}/content?{query}", new ShareLink($"/media/{id}/content?{query}", renditions, expires));
    }

    /// <summary>
    /// For routes a link can open: a valid link passes (for that item, whoever holds it), a bad or expired one is 403;
    /// without a link, a caller with a key passes and anyone else gets 401. Null when the request may go on.
    /// </summary>
    public static async Task<(ProblemHttpResult? Refused, bool ByLink)> RequireKeyOrLinkAsync(HttpContext context, long id)
    {
        // A link decides by itself, key or no key: it opens this item for whoever holds it, and nothing else. (The
        // caller then clears the owner from the grain calls: a change of the request context made in here would not
        // flow back to it.)
        var check = await context.RequestServices.GetRequiredService<ShareLinks>().CheckAsync(context.Request, id);
        if (check is { Valid: true })
        {
            return (null, true);
        }

        if (check is { Reason: { } reason })
        {
            return (ApiErrors.LinkInvalid.Problem(reason), false);
        }

        if (context.User.Identity?.IsAuthenticated == true)
        {
            return (null, false);
        }

        var presented = context.Request.Headers.Authorization.Count > 0;
        context.Response.Headers.WWWAuthenticate = presented ? "Bearer realm=\"media\", error=\"invalid_token\"" : "Bearer realm=\"media\"";
        return (ApiErrors.Unauthorized.Problem(presented ? "The key is unknown or revoked." : "Send an API key, or use a share link."), false);
    }
}

/// <summary>A request for a share link.</summary>
/// <param name="ExpiresInSeconds">How long the link works; default <c>Auth:DefaultLinkLifetime</c>.</param>
public sealed record ShareLinkRequest(long? ExpiresInSeconds);

/// <summary>A share link.</summary>
/// <param name="Content">The original's URL.</param>
/// <param name="Renditions">Each rendition's URL.</param>
/// <param name="ExpiresAt">When the links stop working.</param>
public sealed record ShareLink(string Content, IReadOnlyDictionary<string, string> Renditions, DateTimeOffset ExpiresAt);
