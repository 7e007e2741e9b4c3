using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace MediaService.ApiFrontend.OpenApi;

/// <summary>
/// The OpenAPI document at <c>/openapi/v1.json</c>, made so that client generators (Kiota, NSwag) and validators
/// (@readme/openapi-parser, Redocly's recommended rules) accept it. Each concern has one owner: what a route does is
/// said where it is mapped (<c>.WithName</c>, <c>.WithSummary</c>, <c>.WithTags</c>, <c>.Produces*</c>); what every
/// route has in common is said here: the document's info and tags (below), the answers every route may give
/// (<see cref="OpenApiConventions"/>), security (<see cref="OpenApiSecurity"/>), schemas as the JSON really is
/// (<see cref="OpenApiSchemas"/>) and examples (<see cref="OpenApiExamples"/>).
/// </summary>
public static class MediaOpenApi
{
    /// <summary>The document's title: the service's, not the project's.</summary>
    public const string Title = "Media upload service API";

    /// <summary>The API's version as the document states it.</summary>
    public const string Version = "1.0.0";

    /// <summary>The description of each tag a route carries (one tag per feature).</summary>
    public static readonly IReadOnlyDictionary<string, string> Tags = new Dictionary<string, string>
    {
        ["Media"] = "Items: streamed upload, metadata, content and renditions with byte ranges, share links.",
        ["Metadata"] = "Editing (JSON merge patch with If-Match), deleting and searching items.",
        ["tus"] = "Resumable uploads: tus 1.0.0 and the IETF resumable upload drafts, at /files/.",
        ["Admin"] = "API keys and the cluster's state; needs an admin key.",
        ["Upload links"] = "Expiring links that let their holder upload into the caller's library from /app/ without a key.",
        ["Webhooks"] = "Subscriptions of the caller's backend to events, signed as Standard Webhooks specifies.",
    };

    private const string Description = """
        Uploads media files (photos, video, audio), keeps them in object storage, validates them and makes renditions
        (thumbnails, display images, web video and audio), and serves them with byte ranges. Uploads are streamed
        (`POST /media/upload`) or resumable (tus 1.0.0 and the IETF resumable upload drafts at `/files/`).

        Every route needs an API key (`Authorization: Bearer mk_...`) unless its security says otherwise: tus
        capabilities (`OPTIONS /files/`) are open, and content and renditions also open with a share link
        (`expires` and `sig` from `POST /media/{id}/links`). Errors are RFC 9457 problem details
        (`application/problem+json`) with a stable `code`; tus answers keep the status codes tus defines. Requests
        are rate limited per key (429 with `Retry-After`).
        """;

    /// <summary>Everything the service adds to the document, in the order it must run (names before examples).</summary>
    public static OpenApiOptions AddMediaDocument(this OpenApiOptions options) => options
        .AddDocumentTransformer(DescribeAsync)
        .AddMediaSchemas()
        .AddMediaConventions()
        .AddMediaSecurity()
        .AddMediaExamples();

    private static Task DescribeAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = Title,
            Version = Version,
            Description = Description,
        };

        // The server the document was read from; a trailing slash would double the one every path starts with.
        foreach (var server in document.Servers ?? [])
        {
            server.Url = server.Url?.TrimEnd('/');
            server.Description ??= "The frontend that served this document.";
        }

        foreach (var tag in document.Tags ?? new HashSet<OpenApiTag>())
        {
            if (tag.Name is { } name && Tags.TryGetValue(name, out var description))
            {
                tag.Description = description;
            }
        }

        return Task.CompletedTask;
    }
}
