using System.ComponentModel.DataAnnotations;

namespace MediaService.DataPlane.Telemetry;

/// <summary>Where telemetry goes. Section <c>Telemetry</c>.</summary>
public sealed class TelemetryOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Telemetry";

    /// <summary>Path of the Prometheus scraping endpoint. Default <c>/metrics</c>.</summary>
    [Required]
    [RegularExpression("^/.*")]
    public string MetricsPath { get; set; } = "/metrics";

    /// <summary>An OTLP collector (for example <c>http://127.0.0.1:4317</c>) that receives traces and metrics; none by
    /// default. The standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> variable works too.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>Share of new traces recorded (a trace started upstream keeps its own decision). Default 1.</summary>
    [Range(0.0, 1.0)]
    public double TraceSampleRatio { get; set; } = 1.0;
}
