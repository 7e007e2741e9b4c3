using System.ComponentModel.DataAnnotations;

namespace MediaService.DataPlane;

/// <summary>Limits on uploads, enforced by the edge and again by the grain. Section <c>Uploads</c>.</summary>
public sealed class UploadOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Uploads";

    /// <summary>The largest item accepted, in bytes. Default 50 GiB; at most part size × 10,000 (S3's part limit).</summary>
    [Range(0, long.MaxValue)]
    public long MaxUploadBytes { get; set; } = 50L * 1024 * 1024 * 1024;

    /// <summary>The largest body one request may carry (a tus PATCH or creation-with-upload; 413 above). Default 50 GiB.</summary>
    [Range(1, long.MaxValue)]
    public long MaxAppendBytes { get; set; } = 50L * 1024 * 1024 * 1024;

    /// <summary>Slowest accepted upload rate, in bytes per second; a client below it (after the grace period) is cut
    /// off and keeps what arrived. Default 1024.</summary>
    [Range(1, int.MaxValue)]
    public int MinBytesPerSecond { get; set; } = 1024;

    /// <summary>How long a request body may run below <see cref="MinBytesPerSecond"/> before it is cut off. Default 30 s;
    /// more than 1 s (Kestrel's minimum).</summary>
    [Range(typeof(TimeSpan), "00:00:01.001", "01:00:00")]
    public TimeSpan MinRateGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest file name kept, in UTF-16 characters; longer names are cut. Default 255.</summary>
    [Range(1, 1024)]
    public int MaxFileNameLength { get; set; } = 255;
}
