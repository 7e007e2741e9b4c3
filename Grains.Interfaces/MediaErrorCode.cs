namespace MediaService.Grains.Interfaces;

/// <summary>
/// The catalogue of machine-readable error codes a grain reports to its callers. The HTTP edge maps
/// each one to a status and a problem type; the names are part of the public API.
/// </summary>
[GenerateSerializer]
[Alias("MediaService.MediaErrorCode")]
public enum MediaErrorCode
{
    /// <summary>No item exists under this id.</summary>
    NotFound = 0,

    /// <summary>The item is not in a state that allows the operation (for example, appending to a stored item).</summary>
    InvalidState = 1,

    /// <summary>The caller's write lease is no longer current: another writer took over the upload.</summary>
    StaleWriter = 2,

    /// <summary>The parts or size reported by the writer disagree with what the grain recorded or S3 holds.</summary>
    Inconsistent = 3,

    /// <summary>The item would exceed a configured limit (size, part count).</summary>
    LimitExceeded = 4,

    /// <summary>The object store or the database did not answer; the operation can be retried later.</summary>
    Unavailable = 5,

    /// <summary>The writer's offset is not the item's durable offset (tus 409).</summary>
    OffsetMismatch = 6,

    /// <summary>The unfinished upload passed its expiry, or was terminated: it is gone (tus 410).</summary>
    Gone = 7,

    /// <summary>The item cannot be written directly (a tus final upload is assembled from its partials; tus 403).</summary>
    NotWritable = 8,

    /// <summary>The caller's expected version (If-Match) is not the item's current version (HTTP 412).</summary>
    PreconditionFailed = 9,

    /// <summary>A value breaks a rule of the metadata model (HTTP 400).</summary>
    InvalidInput = 10,
}

/// <summary>A refusal by a grain, carrying a code from <see cref="MediaErrorCode"/>.</summary>
[GenerateSerializer]
[Alias("MediaService.MediaException")]
public sealed class MediaException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MediaException(MediaErrorCode code, string message)
        : base(message)
    {
        Code = code;
    }

    /// <summary>Creates the exception with the broken rules by field (<see cref="MediaErrorCode.InvalidInput"/>).</summary>
    public MediaException(MediaErrorCode code, string message, IReadOnlyDictionary<string, string[]> errors)
        : base(message)
    {
        Code = code;
        Errors = errors.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }

    /// <summary>What went wrong, for the HTTP edge to map.</summary>
    [Id(0)]
    public MediaErrorCode Code { get; }

    /// <summary>The broken rules by field name, for <see cref="MediaErrorCode.InvalidInput"/>.</summary>
    [Id(1)]
    public Dictionary<string, string[]>? Errors { get; init; }

    /// <summary>For <see cref="MediaErrorCode.Unavailable"/>: when a retry has a chance (the HTTP edge's Retry-After).</summary>
    [Id(2)]
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>A refusal because the object store or the database did not answer; retry after <paramref name="retryAfter"/>.</summary>
    public static MediaException Unavailable(string message, TimeSpan retryAfter) =>
        new(MediaErrorCode.Unavailable, message) { RetryAfter = retryAfter };
}
