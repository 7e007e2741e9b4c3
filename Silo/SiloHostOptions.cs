using System.ComponentModel.DataAnnotations;

namespace MediaService.Silo;

/// <summary>Where this silo listens. Section <c>Silo</c>; several silos on one machine need distinct ports.</summary>
public sealed class SiloHostOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Silo";

    /// <summary>Address silos and clients use to reach this silo. Default 127.0.0.1.</summary>
    [Required]
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>Silo-to-silo port. Default 11111.</summary>
    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port clients (frontends) connect to. Default 30000.</summary>
    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Address of the silo's HTTP port (<c>/metrics</c>, <c>/health/*</c>, <c>/dashboard</c>). Default 127.0.0.1.</summary>
    [Required]
    public string HttpAddress { get; set; } = "127.0.0.1";

    /// <summary>The silo's HTTP port. Default 11180.</summary>
    [Range(1, 65535)]
    public int HttpPort { get; set; } = 11180;

    /// <summary>Time a silo gets on SIGTERM to finish calls and deactivate grains with state saved. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
