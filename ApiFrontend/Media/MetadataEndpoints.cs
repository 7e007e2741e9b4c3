using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using MediaService.ApiFrontend.Http;
using MediaService.DataPlane;
using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Orleans.Configuration;

namespace MediaService.ApiFrontend.Media;

/// <summary>The metadata service: editing annotations (JSON merge patch), deleting items, and searching the index.</summary>
public static class MetadataEndpoints
{
    private static readonly string[] PatchTypes = ["application/merge-patch+json", "application/json"];

    /// <summary>Maps <c>PATCH /media/{id}/metadata</c>, <c>DELETE /media/{id}</c> and <c>GET /media</c>.</summary>
    public static IEndpointRouteBuilder MapMetadata(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/media").WithTags("Metadata");
        group.MapPatch("/{id:long}/metadata", PatchAsync)
            .WithName("PatchMediaMetadata")
            .WithSummary("Edits title, description, tags, keywords and custom fields with a JSON merge patch (RFC 7396).")
            .WithDescription("A member absent keeps its value, null removes it, a value replaces it (arrays whole; custom merges key by key). "
                + "With If-Match (the metadata's ETag), the patch applies only to that version: 412 otherwise.")
            .Accepts<MetadataPatchDocument>(PatchTypes[0], PatchTypes[1])
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        group.MapDelete("/{id:long}", DeleteAsync)
            .WithName("DeleteMedia")
            .WithSummary("Deletes the item, its stored bytes and renditions, and its search entry. With If-Match, only that version.")
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);
        app.MapGet("/media", SearchAsync)
            .WithTags("Metadata")
            .WithName("SearchMedia")
            .WithSummary("Searches items: tag (repeatable, all must match), q (free text over title, keywords, description), type "
                + "(image, video, audio), status, createdAfter, createdBefore; sort=created|relevance; keyset pages (limit, cursor).")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return app;
    }

    internal static async Task<Results<Ok<MediaItemResponse>, ProblemHttpResult>> PatchAsync(
        long id, HttpContext context, IClusterClient cluster, IOptions<MetadataOptions> options)
    {
        var request = context.Request;
        if (!MediaIds.IsValid(id))
        {
            return Problems.NotFound(id);
        }

        if (request.ContentType is not { } contentType || !PatchTypes.Any(t => contentType.StartsWith(t, StringComparison.OrdinalIgnoreCase)))
        {
            return ApiErrors.UnsupportedPatchFormat.Problem("Send a JSON merge patch: Content-Type application/merge-patch+json (or application/json).");
        }

        if (!TryExpectedVersion(request.Headers.IfMatch, out var expected))
        {
            return ApiErrors.VersionMismatch.Problem("If-Match names no version of this item (use the metadata's ETag).");
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = options.Value.MaxPatchBytes;
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = 8 }, context.RequestAborted);
        }
        catch (JsonException ex)
        {
            return Problems.Invalid(new Dictionary<string, string[]> { ["$"] = [$"Not JSON: {ex.Message}"] });
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return ApiErrors.PatchTooLarge.Problem($"A metadata patch may have at most {options.Value.MaxPatchBytes} bytes.");
        }

        using (document)
        {
            var (patch, errors) = MergePatch.Read(document.RootElement);
            if (errors.Count > 0)
            {
                return Problems.Invalid(errors);
            }

            try
            {
                var view = await cluster.GetGrain<IMediaMetadata>(id).AnnotateAsync(patch!, expected);
                context.Response.Headers.ETag = MediaItemResponse.ETagOf(view);
                return TypedResults.Ok(MediaItemResponse.From(view));
            }
            catch (MediaException ex)
            {
                return ex.Code == MediaErrorCode.NotFound ? Problems.NotFound(id) : Problems.From(ex, context);
            }
        }
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(long id, HttpContext context, IClusterClient cluster)
    {
        if (!MediaIds.IsValid(id))
        {
            return Problems.NotFound(id);
        }

        if (!TryExpectedVersion(context.Request.Headers.IfMatch, out var expected))
        {
            return ApiErrors.VersionMismatch.Problem("If-Match names no version of this item (use the metadata's ETag).");
        }

        try
        {
            await cluster.GetGrain<IMediaMetadata>(id).DeleteAsync(expected);
            return TypedResults.NoContent();
        }
        catch (MediaException ex)
        {
            return ex.Code == MediaErrorCode.NotFound ? Problems.NotFound(id) : Problems.From(ex, context);
        }
    }

    internal static async Task<Results<Ok<SearchResponse>, ProblemHttpResult>> SearchAsync(
        [AsParameters] SearchRequest request,
        HttpContext context,
        DataPlane.Sharding.ShardedIndex index,
        IOptions<MetadataOptions> options,
        IOptions<ClusterOptions> cluster,
        CancellationToken cancellationToken)
    {
        var (query, errors) = request.Validate(options.Value, MediaService.ApiFrontend.Access.OwnerPropagation.Owner(context.User));
        if (query is null)
        {
            return Problems.Invalid(errors);
        }

        var page = await index.SearchAsync(cluster.Value.ServiceId, query, cancellationToken);
        var next = page.Next is { } n ? NextLink(context.Request, n.Encode()) : null;
        return TypedResults.Ok(new SearchResponse([.. page.Items.Select(SearchItem.From)], page.Next?.Encode(), next, page.Partial ? true : null));
    }

    private static string NextLink(HttpRequest request, string cursor)
    {
        var query = request.Query.Where(kv => kv.Key != "cursor").SelectMany(kv => kv.Value.Select(v => $"{Uri.EscapeDataString(kv.Key)}={Uri.EscapeDataString(v ?? string.Empty)}"));
        return $"/media?{string.Join('&', query.Append($"cursor={cursor}"))}";
    }

    // If-Match: absent means any version; a strong ETag "v<n>" names one; "*" means any existing item; anything else
    // names nothing this item can match.
    private static bool TryExpectedVersion(Microsoft.Extensions.Primitives.StringValues header, out long? version)
    {
        version = null;
        if (header.Count == 0)
        {
            return true;
        }

        if (!EntityTagHeaderValue.TryParseList(header, out var tags) || tags.Count != 1)
        {
            return false;
        }

        var tag = tags[0];
        if (tag.Equals(EntityTagHeaderValue.Any))
        {
            return true;
        }

        var value = tag.Tag.Value ?? string.Empty;
        if (!tag.IsWeak && value.Length > 3 && value[1] == 'v'
            && long.TryParse(value.AsSpan(2, value.Length - 3), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            version = parsed;
            return true;
        }

        return false;
    }
}

/// <summary>The editable members of an item's metadata, as a merge patch carries them (every member optional).</summary>
public sealed record MetadataPatchDocument(string? Title, string? Description, string[]? Tags, string[]? Keywords, Dictionary<string, string?>? Custom);

/// <summary>One page of search results.</summary>
/// <param name="Items">The items, in the requested order.</param>
/// <param name="Cursor">Where this page ended (pass it as <c>cursor</c>), null on the last page.</param>
/// <param name="Next">The URL of the next page, null on the last page.</param>
/// <param name="Partial">True when a storage database did not answer (or one of its shards is being moved): items of it
/// may be missing from this page and the ones after it; repeat the search once it is gone. Left out when complete.</param>
public sealed record SearchResponse(IReadOnlyList<SearchItem> Items, string? Cursor, string? Next, bool? Partial = null);

/// <summary>An item in search results, as the index holds it.</summary>
public sealed record SearchItem(
    long Id, string? FileName, string ContentType, long Size, string Status, string? Processing, string? Kind, string? Title,
    string? Description, IReadOnlyList<string> Tags, IReadOnlyList<string> Keywords, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, MediaLinks Links)
{
    /// <summary>Maps an index row.</summary>
    public static SearchItem From(IndexEntry e) => new(
        e.MediaId, e.FileName, e.ContentType, e.Size, e.Status, e.Processing, e.Kind, e.Title, e.Description, e.Tags, e.Keywords, e.CreatedAt, e.UpdatedAt,
        new MediaLinks($"/media/{e.MediaId}", $"/media/{e.MediaId}/metadata", $"/media/{e.MediaId}/content"));
}
