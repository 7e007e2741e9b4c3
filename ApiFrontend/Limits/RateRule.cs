using System.ComponentModel.DataAnnotations;

namespace MediaService.ApiFrontend.Limits;

/// <summary>One class's rate: tokens per second and the burst a bucket holds.</summary>
public sealed class RateRule
{
    /// <summary>Requests per second, sustained.</summary>
    [Range(0.001, 1_000_000)]
    public double PerSecond { get; set; }

    /// <summary>Requests that may come at once after a quiet time.</summary>
    [Range(1, 1_000_000)]
    public int Burst { get; set; }
}
