using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MediaService.ApiFrontend.Http;

/// <summary>
/// Problem details (RFC 9457) as the API writes them: a stable <c>code</c> extension and a type URI under
/// <c>/problems/</c>. The codes are the constants here; every error with its status and title is an entry of
/// <see cref="ApiErrors"/>, the one catalogue.
/// </summary>
public static class Problems
{
    public const string MediaNotFound = "media-not-found";
    public const string MediaNotStored = "media-not-stored";
    public const string UploadTooLarge = "upload-too-large";
    public const string UnsupportedMediaType = "unsupported-media-type";
    public const string UploadInterrupted = "upload-interrupted";
    public const string StorageUnavailable = "storage-unavailable";
    public const string UploadConflict = "upload-conflict";
    public const string UploadRejected = "upload-rejected";
    public const string ChecksumMismatch = "checksum-mismatch";
    public const string RenditionNotFound = "rendition-not-found";
    public const string MetadataInvalid = "metadata-invalid";
    public const string VersionMismatch = "version-mismatch";
    public const string QuotaExceeded = "quota-exceeded";

    /// <summary>A webhook subscription request breaks the rules (400, with <c>errors</c> by field).</summary>
    public const string WebhookInvalid = "webhook-invalid";

    /// <summary>No form of a negotiated rendition is acceptable (406).</summary>
    public const string NotAcceptable = "not-acceptable";
    public const string ClusterUnavailable = "cluster-unavailable";
    public const string UploadCompleting = "upload-completing";
    public const string UploadGone = "upload-gone";

    /// <summary>Sets Retry-After from a grain's refusal for unavailability (the store or the database did not answer).</summary>
    public static void WriteRetryAfter(HttpContext context, MediaException exception)
    {
        if (exception.Code == MediaErrorCode.Unavailable)
        {
            var after = exception.RetryAfter ?? TimeSpan.FromSeconds(5);
            context.Response.Headers.RetryAfter = Math.Max(1, Math.Ceiling(after.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>A problem result with the catalogue's type and code.</summary>
    public static ProblemHttpResult Create(string code, int status, string title, string? detail = null, IDictionary<string, object?>? extensions = null)
    {
        var all = new Dictionary<string, object?>(extensions ?? new Dictionary<string, object?>()) { ["code"] = code };
        return TypedResults.Problem(detail: detail, statusCode: status, title: title, type: $"/problems/{code}", extensions: all);
    }

    public static ProblemHttpResult NotFound(long id) => ApiErrors.MediaNotFound.Problem($"No media item {id} exists.");

    /// <summary>400 with the broken rules by field (<c>errors</c>, as ASP.NET Core's validation problems have them).</summary>
    public static ProblemHttpResult Invalid(IReadOnlyDictionary<string, string[]> errors) => Invalid(errors, ApiErrors.MetadataInvalid.Code, ApiErrors.MetadataInvalid.Title);

    /// <summary>A 400 whose <c>errors</c> name each field that breaks the rules, under its own code and title.</summary>
    public static ProblemHttpResult Invalid(IReadOnlyDictionary<string, string[]> errors, string code, string title) =>
        Create(code, StatusCodes.Status400BadRequest, title,
            $"{errors.Count} field(s) break the rules: {string.Join(", ", errors.Keys)}.", new Dictionary<string, object?> { ["errors"] = errors });

    /// <summary>The HTTP face of a grain's refusal (with <paramref name="context"/>, a refusal for unavailability also sets
    /// <c>Retry-After</c>).</summary>
    public static ProblemHttpResult From(MediaException exception, HttpContext? context = null)
    {
        if (context is not null)
        {
            WriteRetryAfter(context, exception);
        }

        return FromCode(exception);
    }

    private static ProblemHttpResult FromCode(MediaException exception) => exception.Code == MediaErrorCode.InvalidInput
        ? Invalid(exception.Errors ?? new Dictionary<string, string[]> { ["metadata"] = [exception.Message] })
        : ApiErrors.For(exception.Code).Problem(exception.Message);
}
