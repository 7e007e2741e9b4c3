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

    /// <summary>
    /// How long a request waits for the item's grain to record what the request wrote (for the request that ends an
    /// upload, also for its assembly in S3; for a HEAD of a completing upload, for the assembly in progress) before it
    /// answers 503 with Retry-After (a HEAD: 423 Locked); the assembly goes on and the item becomes stored by itself.
    /// Also bounds the wait when the item's silo dies in the middle of a call. Default 10 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:15:00")]
    public TimeSpan CompletionWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>When the durable reminder first looks at a completing item (it fires only if the item is still completing
    /// then: its silo died, or S3 failed). Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan CompletionReminderDue { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the reminder tries again while the item is still completing. Default 1 min (Orleans' minimum
    /// reminder period).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan CompletionRetryPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A one-shot upload (<c>POST /media/upload</c>) that makes no durable progress for this long is expired and its bytes
    /// released: its request died with its frontend and nobody can resume it. Each part stored moves the expiry on, so
    /// it must cover one part at the slowest accepted rate. Default 6 h.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:05", "7.00:00:00")]
    public TimeSpan OneShotIdleExpiry { get; set; } = TimeSpan.FromHours(6);

    /// <summary>Longest file name kept, in UTF-16 characters; longer names are cut. Default 255.</summary>
    [Range(1, 1024)]
    public int MaxFileNameLength { get; set; } = 255;
}
