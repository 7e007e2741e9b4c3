using MediaService.Grains.Interfaces;

namespace MediaService.ApiFrontend.Media;

/// <summary>A media item's metadata as the API returns it.</summary>
/// <param name="Id">The item id: a positive integer below 2^53.</param>
/// <param name="FileName">The original file name, if the client gave one.</param>
/// <param name="ContentType">The media type the client declared (a hint; <c>processing.facts.detectedType</c> is what the bytes are).</param>
/// <param name="Size">Bytes stored (or received so far while receiving).</param>
/// <param name="Status">The upload: receiving, completing (every byte stored, being assembled), stored, failed, expired or terminated.</param>
/// <param name="CreatedAt">When the item was created.</param>
/// <param name="UpdatedAt">When the item last changed.</param>
/// <param name="Sha256">Hex SHA-256 of the content, once stored.</param>
/// <param name="FailureReason">Why the upload failed, when it did.</param>
/// <param name="Title">The item's title.</param>
/// <param name="Description">Its description.</param>
/// <param name="Tags">Its tags (normalized: lower case, words joined by '-').</param>
/// <param name="Keywords">Its keywords.</param>
/// <param name="Custom">Its custom fields.</param>
/// <param name="Processing">Validation and renditions of a stored item: processing, then ready, failed or rejected.</param>
/// <param name="Version">Counts the item's changes; the metadata's ETag names it.</param>
/// <param name="Links">Where to read the item.</param>
public sealed record MediaItemResponse(
    long Id,
    string? FileName,
    string ContentType,
    long Size,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string? Sha256,
    string? FailureReason,
    string? Title,
    string? Description,
    IReadOnlyList<string> Tags,
    IReadOnlyList<string> Keywords,
    IReadOnlyDictionary<string, string> Custom,
    ProcessingResponse? Processing,
    long Version,
    MediaLinks Links)
{
    /// <summary>Maps the grain's view.</summary>
    public static MediaItemResponse From(MediaItemView view) => new(
        view.Id,
        view.FileName,
        view.ContentType,
        view.Size,
        view.Status.ToString().ToLowerInvariant(),
        view.CreatedAt,
        view.UpdatedAt,
        view.Sha256,
        view.FailureReason,
        view.Annotations?.Title,
        view.Annotations?.Description,
        view.Annotations is { } a ? [.. a.Tags] : [],
        view.Annotations is { } k ? [.. k.Keywords] : [],
        view.Annotations?.Custom ?? (IReadOnlyDictionary<string, string>)new Dictionary<string, string>(),
        ProcessingResponse.From(view.Id, view.Processing),
        view.Version,
        new MediaLinks($"/media/{view.Id}", $"/media/{view.Id}/metadata", $"/media/{view.Id}/content"));

    /// <summary>The metadata's strong ETag: the item's version.</summary>
    public static string ETagOf(MediaItemView view) => $"\"v{view.Version}\"";
}

/// <summary>Links of an item.</summary>
public sealed record MediaLinks(string Self, string Metadata, string Content);

/// <summary>An item's processing.</summary>
/// <param name="Status">processing, ready, failed or rejected.</param>
/// <param name="Attempts">Attempts so far.</param>
/// <param name="Reason">Why it was rejected or failed (while retrying, the last transient error).</param>
/// <param name="StartedAt">When processing began.</param>
/// <param name="FinishedAt">When it ended.</param>
/// <param name="Facts">What the content is, read from its bytes.</param>
/// <param name="Renditions">The generated renditions, when ready.</param>
/// <param name="Steps">How long each step of the last attempt took, in seconds.</param>
public sealed record ProcessingResponse(
    string Status,
    int Attempts,
    string? Reason,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    MediaFactsResponse? Facts,
    IReadOnlyList<RenditionResponse> Renditions,
    IReadOnlyList<ProcessingStep> Steps)
{
    /// <summary>Maps the grain's view.</summary>
    public static ProcessingResponse? From(long id, ProcessingView? view) => view is null ? null : new(
        view.Status.ToString().ToLowerInvariant(),
        view.Attempts,
        view.Reason,
        view.StartedAt,
        view.FinishedAt,
        MediaFactsResponse.From(view.Facts),
        [.. view.Renditions.Select(r => new RenditionResponse(r.Name, r.ContentType, r.Size, r.Width, r.Height, $"/media/{id}/renditions/{r.Name}"))],
        view.Steps.IsDefault ? [] : view.Steps);
}

/// <summary>Technical facts of the content. Never a GPS position.</summary>
public sealed record MediaFactsResponse(
    string Kind,
    string? DetectedType,
    string? Format,
    int? Width,
    int? Height,
    int? FrameCount,
    double? DurationSeconds,
    string? VideoCodec,
    string? AudioCodec,
    double? FrameRate,
    long? BitRate,
    int? Rotation,
    int? SampleRate,
    int? Channels,
    string? CameraMake,
    string? CameraModel,
    string? TakenAt,
    int? BitDepth = null,
    bool? HasAlpha = null,
    bool? Hdr = null)
{
    /// <summary>Maps the grain's facts.</summary>
    public static MediaFactsResponse? From(MediaFacts? f) => f is null ? null : new(
        f.Kind.ToString().ToLowerInvariant(), f.DetectedType, f.Format, f.Width, f.Height, f.FrameCount, f.DurationSeconds, f.VideoCodec, f.AudioCodec,
        f.FrameRate, f.BitRate, f.Rotation, f.SampleRate, f.Channels, f.CameraMake, f.CameraModel, f.TakenAt, f.BitDepth, f.HasAlpha, f.Hdr);
}

/// <summary>A generated rendition.</summary>
/// <param name="Name">Its name, such as thumb.webp, display.jpg, poster.jpg, web.mp4 or audio.m4a.</param>
/// <param name="ContentType">Its media type.</param>
/// <param name="Size">Its length in bytes.</param>
/// <param name="Width">Width in pixels (images and video).</param>
/// <param name="Height">Height in pixels (images and video).</param>
/// <param name="Url">Where to read it.</param>
public sealed record RenditionResponse(string Name, string ContentType, long Size, int? Width, int? Height, string Url);
