using System.ComponentModel.DataAnnotations;

namespace MediaService.ApiFrontend.Tus;

/// <summary>The tus endpoint's settings. Section <c>Tus</c>.</summary>
public sealed class TusOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Tus";

    /// <summary>How long an unfinished upload lives; it answers 410 afterwards and its bytes are freed. Default 24 h.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan Expiry { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Largest Upload-Metadata header accepted, in bytes. Default 4096.</summary>
    [Range(16, 65536)]
    public int MaxMetadataBytes { get; set; } = 4096;
}
