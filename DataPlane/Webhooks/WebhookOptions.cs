using System.ComponentModel.DataAnnotations;

namespace MediaService.DataPlane.Webhooks;

/// <summary>Webhook subscriptions and their delivery. Section <c>Webhooks</c>; read by the frontend (subscriptions) and
/// the silos (delivery).</summary>
public sealed class WebhookOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Webhooks";

    /// <summary>Allows targets on loopback, private, link-local and other internal addresses, at subscription and at
    /// delivery (for development: <c>./run.sh</c> turns it on for the frontend and the silos). Default false: a webhook
    /// can never be aimed at the cluster's own network.</summary>
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

    /// <summary>How long a receiver may take to answer one attempt. Default 15 s (the Standard Webhooks advice).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Attempts one subscription has in flight at once. Default 4. A slow receiver holds at most these.</summary>
    [Range(1, 64)]
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>The waits after each failed attempt, each jittered by x0.8 to x1.2. Default 5 s, 30 s, 2 min, 10 min,
    /// 30 min, 1 h, 2 h, 4 h, 6 h, 8 h: 11 attempts over about 22 hours, after which the delivery has failed. (Null here
    /// rather than the default, because the configuration binder appends to an array it finds.)</summary>
    public TimeSpan[]? RetrySchedule { get; set; }

    /// <summary>The schedule in force: <see cref="RetrySchedule"/>, or the default.</summary>
    public IReadOnlyList<TimeSpan> Schedule => RetrySchedule is { Length: > 0 } schedule ? schedule : DefaultSchedule;

    /// <summary>A subscription with no successful delivery for this long is disabled when one of its deliveries runs
    /// out of attempts. Default 24 h. A receiver answering 410 Gone disables it at once.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan DisableAfter { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often a subscription with pending deliveries is looked at by its durable reminder (after a silo
    /// died, say). Default 1 min; not below Orleans' minimum reminder period.</summary>
    public TimeSpan ReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a media item waits for a subscription to acknowledge new deliveries before it tries again later.
    /// Default 2 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan WakeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long delivered and failed deliveries stay in the log. Default 3 days. Pending ones are never pruned.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "90.00:00:00")]
    public TimeSpan LogRetention { get; set; } = TimeSpan.FromDays(3);

    /// <summary>How often a subscription's settings (URL, secrets, disabled) are read again by the silo delivering it.
    /// Default 30 s (a rotation also tells it at once).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ConfigRefresh { get; set; } = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan[] DefaultSchedule =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(30),
        TimeSpan.FromHours(1), TimeSpan.FromHours(2), TimeSpan.FromHours(4), TimeSpan.FromHours(6), TimeSpan.FromHours(8),
    ];

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Schedule.Count > 20 || Schedule.Any(t => t <= TimeSpan.Zero || t > TimeSpan.FromDays(1)))
        {
            yield return new ValidationResult("Webhooks:RetrySchedule takes at most 20 waits, each above zero and at most a day.", [nameof(RetrySchedule)]);
        }
    }
}
