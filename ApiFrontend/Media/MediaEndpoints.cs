using MediaService.ApiFrontend.Http;
using MediaService.ApiFrontend.OpenApi;
using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace MediaService.ApiFrontend.Media;

/// <summary>The design's media routes: metadata, and content with ranges (<c>POST /media/upload</c> is in <c>Uploads/</c>).</summary>
public static class MediaEndpoints
{
    /// <summary>Maps <c>/media</c>.</summary>
    public static IEndpointRouteBuilder MapMedia(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/media").WithTags("Media");

        group.MapGet("/{id:long}", GetMetadataAsync).WithName("GetMedia").WithSummary("The item's metadata (same as /media/{id}/metadata).")
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/{id:long}/metadata", GetMetadataAsync).WithName("GetMediaMetadata")
            .WithSummary("The item's metadata, with an ETag; If-None-Match answers 304 while nothing changed (poll processing cheaply).")
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        // Content and renditions also open with a share link, without a key (checked in the handlers).
        group.MapMethods("/{id:long}/content", [HttpMethods.Get, HttpMethods.Head], GetContentAsync)
            .AllowAnonymous()
            .OpensWithShareLink()
            .WithName("GetMediaContent")
            .WithSummary("The stored bytes, with ETag and single byte ranges (206, 416). Served with the type found in the bytes once "
                + "processing accepted them; otherwise as an application/octet-stream attachment.")
            // 304 (If-None-Match) is said in words: a 304 in the document makes Kiota's generated GET return no stream.
            .WithDescription("With If-None-Match naming the current ETag: 304 Not Modified, no body.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapMethods("/{id:long}/renditions/{name}", [HttpMethods.Get, HttpMethods.Head], GetRenditionAsync)
            .AllowAnonymous()
            .OpensWithShareLink()
            .WithName("GetMediaRendition")
            .WithSummary("A generated rendition (thumb.webp, thumb.jpg, display.webp, display.jpg, poster.jpg, poster.webp, web.mp4, audio.m4a), "
                + "with ETag, byte ranges and long-lived cache headers.")
            .WithDescription("thumb and display (without an extension) choose AVIF, WebP or JPEG by Accept (406 when it takes none). "
                + "With If-None-Match naming the current ETag: 304 Not Modified, no body.")
            .ProducesProblem(StatusCodes.Status406NotAcceptable);
        return app;
    }

    internal static async Task<Results<Ok<MediaItemResponse>, StatusCodeHttpResult, ProblemHttpResult>> GetMetadataAsync(
        long id, HttpContext context, IClusterClient cluster, IOptions<MetadataOptions> options, [FromQuery] string? source)
    {
        if (!MediaIds.IsValid(id))
        {
            return Problems.NotFound(id);
        }

        if (source is not null && (source != "storage" || !options.Value.AllowStorageReads))
        {
            return Problems.Invalid(new Dictionary<string, string[]>
            {
                ["source"] = [options.Value.AllowStorageReads ? "Only source=storage exists." : "Reads from storage are not enabled (Metadata:AllowStorageReads)."],
            });
        }

        var grain = cluster.GetGrain<IMediaItemGrain>(id);
        var view = source is null ? await grain.GetMetadataAsync() : await grain.GetMetadataFromStorageAsync();
        if (view is null)
        {
            return Problems.NotFound(id);
        }

        var etag = MediaItemResponse.ETagOf(view);
        context.Response.Headers.ETag = etag;
        context.Response.Headers.CacheControl = "private, no-cache";
        return MatchesAny(context.Request.Headers.IfNoneMatch, etag)
            ? TypedResults.StatusCode(StatusCodes.Status304NotModified)
            : TypedResults.Ok(MediaItemResponse.From(view));
    }

    internal static async Task<Results<StoredContentResult, StatusCodeHttpResult, ProblemHttpResult>> GetContentAsync(
        long id, HttpContext context, IClusterClient cluster)
    {
        var (refused, byLink) = await Access.ShareLinkEndpoints.RequireKeyOrLinkAsync(context, id);
        if (refused is not null)
        {
            return refused;
        }

        if (byLink)
        {
            CallerContext.Clear(); // the link, not the key, decides what this request may read
        }

        if (!MediaIds.IsValid(id))
        {
            return Problems.NotFound(id);
        }

        var grain = cluster.GetGrain<IMediaItemGrain>(id);
        var content = await grain.GetStoredContentAsync();
        if (content is null)
        {
            var view = await grain.GetMetadataAsync();
            return view is null
                ? Problems.NotFound(id)
                : ApiErrors.MediaNotStored.Problem($"Media item {id} is {view.Status.ToString().ToLowerInvariant()}; its content cannot be read.");
        }

        return Serve(context, content, StoredContentResult.Revalidate);
    }

    internal static async Task<Results<StoredContentResult, StatusCodeHttpResult, ProblemHttpResult>> GetRenditionAsync(
        long id, string name, HttpContext context, IClusterClient cluster)
    {
        var (refused, byLink) = await Access.ShareLinkEndpoints.RequireKeyOrLinkAsync(context, id);
        if (refused is not null)
        {
            return refused;
        }

        if (byLink)
        {
            CallerContext.Clear(); // the link, not the key, decides what this request may read
        }

        if (!MediaIds.IsValid(id) || name.Length > 64)
        {
            return Problems.NotFound(id);
        }

        var grain = cluster.GetGrain<IMediaItemGrain>(id);
        var negotiated = RenditionNegotiation.IsNegotiated(name);
        if (negotiated)
        {
            // thumb, display: the form the client takes best (AVIF, WebP, JPEG), varying by Accept.
            context.Response.Headers.Vary = "Accept";
            var view = await grain.GetMetadataAsync();
            var available = view?.Processing?.Renditions.Select(r => r.Name) ?? [];
            if (RenditionNegotiation.Choose(name, available, context.Request.Headers.Accept.ToString()) is { } chosen)
            {
                name = chosen;
                context.Response.Headers.ContentLocation = $"/media/{id}/renditions/{chosen}";
            }
            else if (available.Any(r => r.StartsWith(name + ".", StringComparison.Ordinal)))
            {
                return ApiErrors.NotAcceptable.Problem($"Rendition '{name}' exists as {string.Join(", ", RenditionNegotiation.Forms.Select(f => f.MediaType))} at most; the request's Accept takes none of them.");
            }
        }

        var content = await grain.GetRenditionAsync(name);
        if (content is null)
        {
            return ApiErrors.RenditionNotFound.Problem($"Media item {id} has no rendition named '{name}' (renditions exist once processing is ready; the item's metadata lists them).");
        }

        // A rendition never changes under its URL: a new one would be another item.
        return Serve(context, content, StoredContentResult.Immutable);
    }

    private static Results<StoredContentResult, StatusCodeHttpResult, ProblemHttpResult> Serve(HttpContext context, StoredContent content, string cacheControl)
    {
        var etag = content.ETag;
        var request = context.Request;
        if (MatchesAny(request.Headers.IfNoneMatch, etag))
        {
            context.Response.Headers.ETag = etag;
            context.Response.Headers.CacheControl = cacheControl;
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        var range = ByteRangeRequest.Parse(request.Headers.Range, content.Size);
        var ifRange = request.Headers.IfRange.ToString();
        if (ifRange.Length > 0 && ifRange != etag)
        {
            range = default; // A stale If-Range asks for the whole, current representation.
        }

        return new StoredContentResult(content, range, HttpMethods.IsHead(request.Method), cacheControl);
    }

    private static bool MatchesAny(Microsoft.Extensions.Primitives.StringValues header, string etag)
    {
        if (header.Count == 0 || !EntityTagHeaderValue.TryParseList(header, out var tags))
        {
            return false;
        }

        return tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Compare(new EntityTagHeaderValue(etag), useStrongComparison: false));
    }
}
