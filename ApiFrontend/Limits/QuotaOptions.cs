using System.ComponentModel.DataAnnotations;

namespace MediaService.ApiFrontend.Limits;

/// <summary>Per-owner quotas. Section <c>Quotas</c>.</summary>
public sealed class QuotaOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Quotas";

    /// <summary>Bytes an owner may have stored, counting what their unfinished uploads announced. Default 100 GiB.</summary>
    [Range(0, long.MaxValue)]
    public long MaxStoredBytes { get; set; } = 100L * 1024 * 1024 * 1024;

    /// <summary>Uploads an owner may have unfinished at once. Default 50.</summary>
    [Range(0, int.MaxValue)]
    public int MaxUnfinishedUploads { get; set; } = 50;
}
