using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MediaService.ApiFrontend.Http;

/// <summary>One entry of the error catalogue: the problem's stable <paramref name="Code"/> (its type is
/// <c>/problems/{code}</c>), its HTTP <paramref name="Status"/> and <paramref name="Title"/>, and whether a tus request gets
/// the bare status instead of a problem body (<paramref name="BareForTus"/>: where the tus spec names only a status, as 404
/// and 410 for an upload that is not there).</summary>
public sealed record ApiError(string Code, int Status, string Title, bool BareForTus = false)
{
    /// <summary>The problem details of this error.</summary>
    public ProblemHttpResult Problem(string? detail = null, IDictionary<string, object?>? extensions = null) =>
        Problems.Create(Code, Status, Title, detail, extensions);
}

/// <summary>
/// Every error the API answers with, in one place: endpoints raise an entry (with a detail of their own), and
/// <see cref="For"/> is the one map from a grain's refusal (<see cref="MediaErrorCode"/>) to an entry, for the REST routes
/// and tus alike. Clients branch on <see cref="ApiError.Code"/>, never on the title or the detail.
/// </summary>
public static class ApiErrors
{
    /// <summary>tus' status for a checksum that does not match the body (the checksum extension).</summary>
    public const int ChecksumMismatchStatus = 460;

    // Access.
    public static readonly ApiError Unauthorized = new("unauthorized", StatusCodes.Status401Unauthorized, "Unauthorized");
    public static readonly ApiError Forbidden = new("forbidden", StatusCodes.Status403Forbidden, "Forbidden");
    public static readonly ApiError LinkInvalid = new("link-invalid", StatusCodes.Status403Forbidden, "Link not valid");
    public static readonly ApiError KeyNotFound = new("key-not-found", StatusCodes.Status404NotFound, "Key not found");

    // Limits.
    public static readonly ApiError RateLimited = new("rate-limited", StatusCodes.Status429TooManyRequests, "Too many requests");
    public static readonly ApiError QuotaExceeded = new(Problems.QuotaExceeded, StatusCodes.Status413PayloadTooLarge, "Storage quota exceeded");
    public static readonly ApiError TooManyUnfinishedUploads = new(Problems.QuotaExceeded, StatusCodes.Status403Forbidden, "Too many unfinished uploads");

    // Media items.
    public static readonly ApiError MediaNotFound = new(Problems.MediaNotFound, StatusCodes.Status404NotFound, "Media item not found", BareForTus: true);
    public static readonly ApiError MediaNotStored = new(Problems.MediaNotStored, StatusCodes.Status409Conflict, "Media not stored");
    public static readonly ApiError RenditionNotFound = new(Problems.RenditionNotFound, StatusCodes.Status404NotFound, "Rendition not found");
    public static readonly ApiError NotAcceptable = new(Problems.NotAcceptable, StatusCodes.Status406NotAcceptable, "Not acceptable");
    public static readonly ApiError MetadataInvalid = new(Problems.MetadataInvalid, StatusCodes.Status400BadRequest, "Invalid metadata");
    public static readonly ApiError VersionMismatch = new(Problems.VersionMismatch, StatusCodes.Status412PreconditionFailed, "Version mismatch");

    // Uploads.
    public static readonly ApiError UploadTooLarge = new(Problems.UploadTooLarge, StatusCodes.Status413PayloadTooLarge, "Upload too large");
    public static readonly ApiError BeyondUploadLength = new(Problems.UploadTooLarge, StatusCodes.Status413PayloadTooLarge, "Beyond Upload-Length");
    public static readonly ApiError RequestTooLarge = new(Problems.UploadTooLarge, StatusCodes.Status413PayloadTooLarge, "Request too large");
    public static readonly ApiError PatchTooLarge = new(Problems.UploadTooLarge, StatusCodes.Status413PayloadTooLarge, "Patch too large");
    public static readonly ApiError UnsupportedMediaType = new(Problems.UnsupportedMediaType, StatusCodes.Status415UnsupportedMediaType, "Unsupported media type");
    public static readonly ApiError UnsupportedRequestBody = new(Problems.UnsupportedMediaType, StatusCodes.Status415UnsupportedMediaType, "Unsupported request body");
    public static readonly ApiError UnsupportedPatchFormat = new(Problems.UnsupportedMediaType, StatusCodes.Status415UnsupportedMediaType, "Unsupported patch format");
    public static readonly ApiError UploadInterrupted = new(Problems.UploadInterrupted, StatusCodes.Status400BadRequest, "Upload interrupted");
    public static readonly ApiError UploadConflict = new(Problems.UploadConflict, StatusCodes.Status409Conflict, "Upload conflict");
    public static readonly ApiError NotWritable = new(Problems.UploadConflict, StatusCodes.Status403Forbidden, "Not writable");
    public static readonly ApiError UploadGone = new(Problems.UploadGone, StatusCodes.Status410Gone, "Upload gone", BareForTus: true);
    public static readonly ApiError UploadInconsistent = new(Problems.UploadRejected, StatusCodes.Status400BadRequest, "Upload inconsistent");
    public static readonly ApiError BadUploadRequest = new(Problems.UploadRejected, StatusCodes.Status400BadRequest, "Bad upload request");
    public static readonly ApiError BadTusRequest = new(Problems.UploadRejected, StatusCodes.Status400BadRequest, "Bad tus request");
    public static readonly ApiError BodyLongerThanDeclared = new(Problems.UploadRejected, StatusCodes.Status400BadRequest, "Body longer than declared");
    public static readonly ApiError UnsupportedInteropVersion = new(Problems.UploadRejected, StatusCodes.Status412PreconditionFailed, "Unsupported interop version");
    public static readonly ApiError ChecksumMismatch = new(Problems.ChecksumMismatch, ChecksumMismatchStatus, "Checksum mismatch");
    public static readonly ApiError UploadCompleting = new(Problems.UploadCompleting, StatusCodes.Status503ServiceUnavailable, "Upload completing");

    // Availability.
    public static readonly ApiError StorageUnavailable = new(Problems.StorageUnavailable, StatusCodes.Status503ServiceUnavailable, "Storage unavailable");
    public static readonly ApiError OffsetNotSettled = new(Problems.StorageUnavailable, StatusCodes.Status503ServiceUnavailable, "Offset not settled");
    public static readonly ApiError ClusterUnavailable = new(Problems.ClusterUnavailable, StatusCodes.Status503ServiceUnavailable, "Cluster unavailable");

    // The web app's files.
    public static readonly ApiError WebAppFileNotFound = new("not-found", StatusCodes.Status404NotFound, "Not found");

    // Webhooks.
    public static readonly ApiError WebhookNotFound = new("webhook-not-found", StatusCodes.Status404NotFound, "Webhook not found");
    public static readonly ApiError WebhookLimit = new("webhook-limit", StatusCodes.Status409Conflict, "Too many subscriptions");
    public static readonly ApiError WebhookDisabled = new("webhook-disabled", StatusCodes.Status409Conflict, "Webhook disabled");
    public static readonly ApiError DeliveryNotFound = new("delivery-not-found", StatusCodes.Status404NotFound, "Delivery not found");

    // Storage administration.
    public static readonly ApiError StorageInvalid = new("storage-invalid", StatusCodes.Status400BadRequest, "Invalid move");
    public static readonly ApiError ShardMoveConflict = new("shard-move-conflict", StatusCodes.Status409Conflict, "Shard move conflict");
    public static readonly ApiError ShardMoveNotFound = new("shard-move-not-found", StatusCodes.Status404NotFound, "Shard move not found");

    public static readonly ApiError MethodNotAllowed = new("method-not-allowed", StatusCodes.Status405MethodNotAllowed, "Method not allowed");

    /// <summary>The entry for a status the framework answers by itself, before any handler (routing refuses a request's
    /// content type with 415 or its method with 405), so that those problems carry a code too; null for the others.</summary>
    public static ApiError? ForFrameworkStatus(int? status) => status switch
    {
        StatusCodes.Status415UnsupportedMediaType => UnsupportedMediaType,
        StatusCodes.Status405MethodNotAllowed => MethodNotAllowed,
        _ => null,
    };

    /// <summary>Gives a problem the framework wrote (<see cref="ForFrameworkStatus"/>) the catalogue's type and code;
    /// the API's own problems already carry theirs and are left as they are.</summary>
    public static void FillFrameworkProblem(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (!problem.Extensions.ContainsKey("code") && ForFrameworkStatus(problem.Status) is { } entry)
        {
            problem.Type = $"/problems/{entry.Code}";
            problem.Title = entry.Title;
            problem.Extensions["code"] = entry.Code;
        }
    }

    /// <summary>The one map of a grain's refusal to the catalogue (REST and tus).</summary>
    public static ApiError For(MediaErrorCode code) => code switch
    {
        MediaErrorCode.NotFound => MediaNotFound,
        MediaErrorCode.Gone => UploadGone,
        MediaErrorCode.NotWritable => NotWritable,
        MediaErrorCode.OffsetMismatch or MediaErrorCode.StaleWriter or MediaErrorCode.InvalidState => UploadConflict,
        MediaErrorCode.LimitExceeded => UploadTooLarge,
        MediaErrorCode.Unavailable => StorageUnavailable,
        MediaErrorCode.InvalidInput => MetadataInvalid,
        MediaErrorCode.PreconditionFailed => VersionMismatch,
        MediaErrorCode.Inconsistent => UploadInconsistent,
        _ => UploadInconsistent,
    };
}
