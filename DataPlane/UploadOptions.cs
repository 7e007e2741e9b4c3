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

    /// <summary>Longest file name kept, in UTF-16 characters; longer names are cut. Default 255.</summary>
    [Range(1, 1024)]
    public int MaxFileNameLength { get; set; } = 255;
}
