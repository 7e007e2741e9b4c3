using System.Globalization;
using System.Reflection;
using MediaService.ApiFrontend.Http;
using MediaService.DataPlane;
using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Net.Http.Headers;

namespace MediaService.ApiFrontend.Media;

/// <summary>
/// Streams a stored item (or one byte range of it) from S3 to the client: 200, 206 or 416, computed
/// here rather than by the store, with a strong ETag from the content's SHA-256.
/// </summary>
public sealed class StoredContentResult(StoredContent content, ByteRangeRequest range, bool headOnly, string cacheControl = StoredContentResult.Revalidate)
    : IResult, IEndpointMetadataProvider
{
    /// <summary>Cache-Control of the original: caches keep it but check it each time.</summary>
    public const string Revalidate = "private, no-cache";

    /// <summary>Cache-Control of a rendition: it never changes under its URL.</summary>
    public const string Immutable = "private, max-age=31536000, immutable";

    // Media a browser may render inline; anything else is served as an attachment so that an uploaded
    // HTML or SVG file can never run as a page of this origin.
    private static readonly string[] InlinePrefixes = ["image/", "video/", "audio/"];
    private static readonly HashSet<string> NeverInline = new(StringComparer.OrdinalIgnoreCase) { "image/svg+xml" };


    /// <inheritdoc />
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        var headers = response.Headers;
        headers.AcceptRanges = "bytes";
        headers.ETag = content.ETag;
        headers.LastModified = content.StoredAt.ToString("R", CultureInfo.InvariantCulture);
        headers.CacheControl = cacheControl;
        headers.ContentDisposition = Disposition(content.ContentType, content.FileName);

        if (range.Decision == RangeDecision.Unsatisfiable)
        {
            response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
            headers.ContentRange = $"bytes */{content.Size}";
            response.ContentLength = 0;
            return;
        }

        long from = 0, to = content.Size - 1;
        if (range.Decision == RangeDecision.Partial)
        {
            (from, to) = (range.From, range.To);
            response.StatusCode = StatusCodes.Status206PartialContent;
            headers.ContentRange = $"bytes {from}-{to}/{content.Size}";
        }
        else
        {
            response.StatusCode = StatusCodes.Status200OK;
        }

        response.ContentType = content.ContentType;
        response.ContentLength = to - from + 1;
        if (headOnly || content.Size == 0)
        {
            return;
        }

        var store = httpContext.RequestServices.GetRequiredService<DataPlane.Objects.IObjectReader>();
        await using var read = await store.OpenReadAsync(content.StorageKey, from, to, httpContext.RequestAborted);
        if (read.Length != to - from + 1)
        {
            throw new InvalidOperationException($"The store answered {read.Length} bytes for a range of {to - from + 1}.");
        }

        await read.Body.CopyToAsync(response.Body, 81920, httpContext.RequestAborted);
    }

    /// <summary>The Content-Disposition of an item: inline only for an allow-list of media types.</summary>
    public static string Disposition(string contentType, string? fileName)
    {
        var inline = InlinePrefixes.Any(p => contentType.StartsWith(p, StringComparison.OrdinalIgnoreCase)) && !NeverInline.Contains(contentType);
        var value = new ContentDispositionHeaderValue(inline ? "inline" : "attachment");
        if (!string.IsNullOrEmpty(fileName))
        {
            value.SetHttpFileName(fileName);
        }

        return value.ToString();
    }

    /// <inheritdoc />
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(Stream), ["application/octet-stream"]));
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status206PartialContent, typeof(Stream), ["application/octet-stream"]));
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status416RangeNotSatisfiable));
    }
}
