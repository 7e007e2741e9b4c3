using System.ComponentModel.DataAnnotations;

namespace MediaService.ApiFrontend.Webhooks;

/// <summary>Webhook subscriptions. Section <c>Webhooks</c>.</summary>
public sealed class WebhookOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Webhooks";

    /// <summary>Allows targets on loopback, private, link-local and other internal addresses (for development:
    /// <c>./run.sh</c> turns it on). Default false: a webhook can never be aimed at the cluster's own network.</summary>
    public bool AllowPrivateTargets { get; set; }

    /// <summary>Subscriptions an owner may have. Default 20.</summary>
    [Range(1, 1000)]
    public int MaxSubscriptionsPerOwner { get; set; } = 20;

    /// <summary>How long the previous secret keeps signing after a rotation. Default 24 h.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan RotationOverlap { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long resolving a target's name may take at subscription. Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ResolveTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
