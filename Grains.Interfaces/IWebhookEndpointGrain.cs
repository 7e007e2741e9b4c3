namespace MediaService.Grains.Interfaces;

/// <summary>
/// The delivery of one webhook subscription, keyed by the subscription's id: it owns the subscription's queued
/// deliveries from the moment a media item hands them over (sends them, in order per item; records each attempt;
/// retries, and ends them delivered or failed) and is the only one that disables the subscription. One per
/// subscription, so that a slow receiver holds back only its own deliveries.
/// </summary>
[Alias("MediaService.IWebhookEndpointGrain")]
public interface IWebhookEndpointGrain : IGrainWithIntegerKey
{
    /// <summary>New deliveries are queued: send them. Returns once they are guarded by the subscription's durable
    /// reminder, so that they are sent even if this activation's silo dies.</summary>
    [Alias("Wake")]
    Task WakeAsync();

    /// <summary>The subscription changed (a rotated secret, enabled again): read it again.</summary>
    [Alias("Reload")]
    Task ReloadAsync();

    /// <summary>Queues a delivery again, now, with the same event id and body. False when the subscription has no
    /// such delivery.</summary>
    [Alias("Redeliver")]
    Task<bool> RedeliverAsync(long deliveryId);

    /// <summary>How one attempt ended (called by the silo's sender).</summary>
    [Alias("Report")]
    Task ReportAsync(WebhookAttemptReport report);
}

/// <summary>How an attempt of a delivery ended.</summary>
[GenerateSerializer, Immutable, Alias("MediaService.WebhookAttemptReport")]
public sealed record WebhookAttemptReport(
    [property: Id(0)] long DeliveryId,
    [property: Id(1)] int Attempt,
    [property: Id(2)] DateTimeOffset StartedAt,
    [property: Id(3)] int LatencyMs,
    [property: Id(4)] int? StatusCode,
    [property: Id(5)] string? Error,
    [property: Id(6)] TimeSpan? RetryAfter,
    [property: Id(7)] bool Manual,
    [property: Id(8)] DateTimeOffset OccurredAt,
    [property: Id(9)] string EventType);
