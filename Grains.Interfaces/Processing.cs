using System.Collections.Immutable;

namespace MediaService.Grains.Interfaces;

/// <summary>Where a stored item is in processing. Values are persisted: never renumber them.</summary>
[GenerateSerializer]
[Alias("MediaService.ProcessingStatus")]
public enum ProcessingStatus
{
    /// <summary>Not started: the item is not stored yet.</summary>
    None = 0,

    /// <summary>A job is running or waiting for its next attempt.</summary>
    Processing = 1,

    /// <summary>Validated; facts recorded and renditions generated.</summary>
    Ready = 2,

    /// <summary>Processing could not finish (a permanent error, or transient errors past the last attempt).</summary>
    Failed = 3,

    /// <summary>The content is not acceptable: unknown or disallowed type, corrupt, or over a limit.</summary>
    Rejected = 4,
}

/// <summary>What kind of media the content is, from its bytes.</summary>
[GenerateSerializer]
[Alias("MediaService.MediaKind")]
public enum MediaKind
{
    /// <summary>Not recognized.</summary>
    Unknown = 0,

    /// <summary>A still or animated image.</summary>
    Image = 1,

    /// <summary>A video, possibly with sound.</summary>
    Video = 2,

    /// <summary>Sound only.</summary>
    Audio = 3,
}

/// <summary>How one processing attempt ended.</summary>
[GenerateSerializer]
[Alias("MediaService.ProcessingOutcome")]
public enum ProcessingOutcome
{
    /// <summary>Facts and renditions are ready.</summary>
    Ready = 0,

    /// <summary>The content is not acceptable; retrying cannot change that.</summary>
    Rejected = 1,

    /// <summary>A permanent processing error; retrying cannot change that.</summary>
    Failed = 2,

    /// <summary>An error that may pass (storage unavailable, cluster busy): retried with backoff.</summary>
    Transient = 3,
}

/// <summary>The technical facts of an item, read from its content. Only facts that are safe to show: never a GPS position.</summary>
[GenerateSerializer, Immutable, Alias("MediaService.MediaFacts")]
public sealed record MediaFacts
{
    /// <summary>Image, video or audio.</summary>
    [Id(0)] public MediaKind Kind { get; init; }

    /// <summary>The media type found in the bytes (for example image/jpeg), whatever the client declared.</summary>
    [Id(1)] public string? DetectedType { get; init; }

    /// <summary>The format or container's short name (jpeg, png, mp4, matroska, mp3, ...).</summary>
    [Id(2)] public string? Format { get; init; }

    /// <summary>Width in pixels as displayed (after orientation or rotation).</summary>
    [Id(3)] public int? Width { get; init; }

    /// <summary>Height in pixels as displayed.</summary>
    [Id(4)] public int? Height { get; init; }

    /// <summary>Frames of an image (more than one when animated).</summary>
    [Id(5)] public int? FrameCount { get; init; }

    /// <summary>Duration of video or audio, in seconds.</summary>
    [Id(6)] public double? DurationSeconds { get; init; }

    /// <summary>The video codec's name.</summary>
    [Id(7)] public string? VideoCodec { get; init; }

    /// <summary>The audio codec's name.</summary>
    [Id(8)] public string? AudioCodec { get; init; }

    /// <summary>Average frames per second of the video.</summary>
    [Id(9)] public double? FrameRate { get; init; }

    /// <summary>Overall bit rate in bits per second.</summary>
    [Id(10)] public long? BitRate { get; init; }

    /// <summary>Rotation the video asks for when displayed, in degrees.</summary>
    [Id(11)] public int? Rotation { get; init; }

    /// <summary>Audio sample rate in Hz.</summary>
    [Id(12)] public int? SampleRate { get; init; }

    /// <summary>Audio channels.</summary>
    [Id(13)] public int? Channels { get; init; }

    /// <summary>The camera's maker (EXIF Make).</summary>
    [Id(14)] public string? CameraMake { get; init; }

    /// <summary>The camera's model (EXIF Model).</summary>
    [Id(15)] public string? CameraModel { get; init; }

    /// <summary>When the picture was taken, as the camera wrote it (EXIF DateTimeOriginal, local time, no zone).</summary>
    [Id(16)] public string? TakenAt { get; init; }

    /// <summary>Bits per colour channel, when the format states it (HEIC, AVIF).</summary>
    [Id(17)] public int? BitDepth { get; init; }

    /// <summary>True when the image has an alpha channel (HEIC, AVIF).</summary>
    [Id(18)] public bool? HasAlpha { get; init; }

    /// <summary>True when the image is HDR (PQ or HLG transfer: HEIC, AVIF).</summary>
    [Id(19)] public bool? Hdr { get; init; }
}

/// <summary>A file generated from an item (a thumbnail, a web-sized image, a playable video), stored in S3.</summary>
/// <param name="Name">Its name in URLs, such as thumb.webp.</param>
/// <param name="StorageKey">Its object's key.</param>
/// <param name="ContentType">Its media type.</param>
/// <param name="Size">Its length in bytes.</param>
/// <param name="Width">Its width in pixels, for images and video.</param>
/// <param name="Height">Its height in pixels, for images and video.</param>
/// <param name="Sha256">Hex SHA-256 of its bytes: its strong ETag.</param>
[GenerateSerializer, Immutable, Alias("MediaService.Rendition")]
public sealed record Rendition(
    [property: Id(0)] string Name,
    [property: Id(1)] string StorageKey,
    [property: Id(2)] string ContentType,
    [property: Id(3)] long Size,
    [property: Id(4)] int? Width,
    [property: Id(5)] int? Height,
    [property: Id(6)] string Sha256);

/// <summary>One processing attempt for a silo's processing slots: everything the job needs to read the original.</summary>
/// <param name="MediaId">The item.</param>
/// <param name="Attempt">The attempt's number; only the grain's current attempt may report.</param>
/// <param name="StorageKey">The original's key.</param>
/// <param name="Size">The original's length.</param>
/// <param name="DeclaredType">What the client said the type was (a hint only).</param>
/// <param name="FileName">The client's file name (a hint only).</param>
[GenerateSerializer, Immutable, Alias("MediaService.ProcessingJob")]
public sealed record ProcessingJob(
    [property: Id(0)] long MediaId,
    [property: Id(1)] int Attempt,
    [property: Id(2)] string StorageKey,
    [property: Id(3)] long Size,
    [property: Id(4)] string? DeclaredType,
    [property: Id(5)] string? FileName);

/// <summary>What one attempt found and made.</summary>
/// <param name="Attempt">The attempt reporting.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Reason">Why, when it did not end ready.</param>
/// <param name="Facts">What was learned about the content, even when rejected.</param>
/// <param name="Renditions">The renditions stored in S3, when ready.</param>
/// <param name="Steps">How long each step of the attempt took.</param>
[GenerateSerializer, Immutable, Alias("MediaService.ProcessingReport")]
public sealed record ProcessingReport(
    [property: Id(0)] int Attempt,
    [property: Id(1)] ProcessingOutcome Outcome,
    [property: Id(2)] string? Reason,
    [property: Id(3)] MediaFacts? Facts,
    [property: Id(4)] ImmutableArray<Rendition> Renditions,
    [property: Id(5)] ImmutableArray<ProcessingStep> Steps = default);

/// <summary>One timed step of a processing attempt (download, sniff, probe, stills, transcode, store, ...).</summary>
/// <param name="Name">The step.</param>
/// <param name="Seconds">Its wall-clock duration.</param>
[GenerateSerializer, Immutable, Alias("MediaService.ProcessingStep")]
public sealed record ProcessingStep([property: Id(0)] string Name, [property: Id(1)] double Seconds);

/// <summary>An item's processing, as shown in its metadata.</summary>
[GenerateSerializer, Immutable, Alias("MediaService.ProcessingView")]
public sealed record ProcessingView(
    [property: Id(0)] ProcessingStatus Status,
    [property: Id(1)] int Attempts,
    [property: Id(2)] string? Reason,
    [property: Id(3)] DateTimeOffset? StartedAt,
    [property: Id(4)] DateTimeOffset? FinishedAt,
    [property: Id(5)] MediaFacts? Facts,
    [property: Id(6)] ImmutableArray<Rendition> Renditions,
    [property: Id(7)] ImmutableArray<ProcessingStep> Steps = default);
