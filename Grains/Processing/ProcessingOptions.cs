using System.ComponentModel.DataAnnotations;
using MediaService.Grains.Domain;

namespace MediaService.Grains.Processing;

/// <summary>Media processing on the silos: slots, attempts, limits and the types accepted. Section <c>Processing</c>.</summary>
public sealed class ProcessingOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Processing";

    /// <summary>The default <see cref="AllowedTypes"/>.</summary>
    public const string DefaultAllowedTypes =
        "image/jpeg,image/png,image/gif,image/webp,image/bmp,image/tiff,image/heic,image/heif,image/avif,"
        + "video/mp4,video/quicktime,video/webm,video/x-matroska,"
        + "audio/mpeg,audio/mp4,audio/aac,audio/wav,audio/flac,audio/ogg,audio/webm";

    /// <summary>Jobs that run at once on one silo; more wait in its queue. Default 2.</summary>
    [Range(1, 64)]
    public int Slots { get; set; } = 2;

    /// <summary>Attempts per item before processing gives up as failed. Default 5.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The wait after the first transient error; doubled after each further one. Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between attempts. Default 5 min.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often the durable reminder looks at an item still processing (a lost attempt is replaced then, if
    /// nothing touched the item before). Default 1 min, Orleans' minimum unless the silo lowers it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan ReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Longest time one job may take, download and upload included; it is then stopped and fails. Default 30 min.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan JobTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Longest run of one ffmpeg or ffprobe process. Default 10 min.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan FfmpegTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Address space one ffmpeg or ffprobe process may use, in MiB (enforced with prlimit). Default 2048.</summary>
    [Range(64, 1024 * 1024)]
    public int FfmpegMemoryMegabytes { get; set; } = 2048;

    /// <summary>Niceness of ffmpeg and ffprobe (0 to 19): processing yields the CPU to request work. Default 10.</summary>
    [Range(0, 19)]
    public int FfmpegNiceness { get; set; } = 10;

    /// <summary>Largest original processed, in bytes; larger items are rejected. Default 8 GiB.</summary>
    [Range(1, long.MaxValue)]
    public long MaxInputBytes { get; set; } = 8L * 1024 * 1024 * 1024;

    /// <summary>Widest image accepted, in pixels (checked from the header, before decoding). Default 20,000.</summary>
    [Range(1, 1_000_000)]
    public int MaxImageWidth { get; set; } = 20_000;

    /// <summary>Tallest image accepted, in pixels. Default 20,000.</summary>
    [Range(1, 1_000_000)]
    public int MaxImageHeight { get; set; } = 20_000;

    /// <summary>Most pixels per image frame accepted. Default 64 million (a 50-megapixel phone photo fits).</summary>
    [Range(1, long.MaxValue)]
    public long MaxImagePixels { get; set; } = 64_000_000;

    /// <summary>The memory budget of one image job, in MiB: every buffer ImageSharp holds for the job (decoder buffers,
    /// the decoded first frame, resize and encode buffers) counts, and the job is rejected when it would pass the budget
    /// (and before decoding, when the first frame alone, 4 bytes a pixel, would). A silo's image memory is at most
    /// <see cref="Slots"/> × this. Default 512, enough for a <see cref="MaxImagePixels"/> photo.</summary>
    [Range(1, 64 * 1024)]
    public int ImageMemoryMegabytes { get; set; } = 512;

    /// <summary>Most frames an image may have (counted from its structure, before decoding). Default 10,000.</summary>
    [Range(1, 10_000_000)]
    public int MaxImageFrames { get; set; } = 10_000;

    /// <summary>Most pixels of an animated image, frames × pixels per frame, checked before decoding. Animated images
    /// within it get still renditions of their first frame (the only one decoded); past it they are rejected.
    /// Default 500 million (500 frames of 1000x1000).</summary>
    [Range(1, long.MaxValue)]
    public long MaxAnimationPixels { get; set; } = 500_000_000;

    /// <summary>Longest time decoding one image may take; it is then rejected. Default 2 min.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ImageTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Most pixels per video frame accepted (8K by default: 7680 × 4320).</summary>
    [Range(1, long.MaxValue)]
    public long MaxVideoPixels { get; set; } = 7680L * 4320;

    /// <summary>Most pixels a video may decode to, frames (duration × frame rate, from the probe) × pixels per frame,
    /// checked before ffmpeg decodes anything. Default 2 × 10^12 (about two hours of 4K at 30 frames a second).</summary>
    [Range(1, long.MaxValue)]
    public long MaxVideoFramePixels { get; set; } = 2_000_000_000_000;

    /// <summary>Media types accepted, as found in the bytes, comma separated. Default: JPEG, PNG, GIF, WebP, BMP, TIFF,
    /// HEIC/HEIF, AVIF;
    /// MP4, MOV, WebM, MKV; MP3, M4A, AAC, WAV, FLAC, Ogg and WebM audio.</summary>
    [Required]
    public string AllowedTypes { get; set; } = DefaultAllowedTypes;

    /// <summary>Where jobs keep their temporary copies. Default: a folder in the system's temporary folder.</summary>
    public string? WorkDirectory { get; set; }

    /// <summary>The folder holding ffmpeg and ffprobe; default: found on PATH.</summary>
    public string? FfmpegFolder { get; set; }

    /// <summary>The folder holding libheif's heif-info, heif-convert and heif-enc; default: found on PATH.</summary>
    public string? HeifFolder { get; set; }

    /// <summary>Most tiles of a HEIF grid image (an iPhone photo has 48). Default 1024.</summary>
    [Range(1, 1_000_000)]
    public int MaxImageTiles { get; set; } = 1024;

    /// <summary>Every image also gets AVIF renditions (<c>thumb.avif</c>, <c>display.avif</c>), made by heif-enc in the
    /// sandbox. Default true.</summary>
    public bool AvifRenditions { get; set; } = true;

    /// <summary>Quality of the AVIF renditions (0 to 100). Default 55.</summary>
    [Range(0, 100)]
    public int AvifQuality { get; set; } = 55;

    /// <summary>The allowed types as a set.</summary>
    public IReadOnlySet<string> AllowedTypeSet() =>
        AllowedTypes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>The attempt and backoff rules for the grain.</summary>
    public ProcessingPolicy Policy() => new(MaxAttempts, RetryDelay, MaxRetryDelay);
}
