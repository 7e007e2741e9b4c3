using System.ComponentModel.DataAnnotations;

namespace MediaService.Silo;

/// <summary>What an operator turns on or off on a silo. Section <c>Operations</c>.</summary>
public sealed class OperationsOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Operations";

    /// <summary>
    /// Move activations from busy silos to less busy ones (Orleans' activation rebalancer), so that a silo that joins
    /// takes a share of the existing load and not only of new activations. Default true. Tuned under
    /// <c>Orleans:Rebalancer</c> (<c>RebalancerDueTime</c>, <c>SessionCyclePeriod</c>, ...).
    /// </summary>
    public bool Rebalancing { get; set; } = true;

    /// <summary>Serve the Orleans dashboard on the silo's HTTP port. Default true.</summary>
    public bool Dashboard { get; set; } = true;

    /// <summary>Where the dashboard is served. Default <c>/dashboard</c>.</summary>
    [Required]
    [RegularExpression("^/.+")]
    public string DashboardPath { get; set; } = "/dashboard";

    /// <summary>How often the dashboard's counters refresh, in milliseconds (at least 1000). Default 1000.</summary>
    [Range(1000, 600_000)]
    public int DashboardUpdateIntervalMs { get; set; } = 1000;
}
