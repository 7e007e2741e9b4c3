using MediaService.DataPlane;
using MediaService.DataPlane.Telemetry;
using MediaService.DataPlane.Webhooks;
using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaService.Grains.Webhooks;

/// <summary>
/// The delivery of one subscription (see <see cref="IWebhookEndpointGrain"/>). Its state is its rows in PostgreSQL, not
/// Orleans state: a queue of thousands of bodies would be rewritten whole on every write. A grain timer, re-armed to the
/// next due delivery, drives attempts; a durable reminder exists while deliveries are pending, so that a silo's death
/// only delays them. Attempts run off the grain's turn in the silo's <see cref="WebhookSender"/> and report back here;
/// an attempt whose report was lost (its silo died) is sent again later under the same event id: at least once.
/// </summary>
public sealed partial class WebhookEndpointGrain(
    WebhookDeliveries deliveries,
    WebhookSender sender,
    IOptions<WebhookOptions> options,
    IOptions<Orleans.Configuration.ClusterOptions> cluster,
    TimeProvider time,
    MediaMetrics metrics,
    ILogger<WebhookEndpointGrain> logger) : Grain, IWebhookEndpointGrain, IRemindable
{
    private const string DeliverReminder = "deliver";
    private readonly WebhookOptions _options = options.Value;
    private readonly string _serviceId = cluster.Value.ServiceId;

    // Deliveries handed to the sender and not reported yet, by delivery id: their items wait (one at a time per item).
    // One whose report never comes (every try of it failed) is given up at its deadline and sent again.
    private readonly Dictionary<long, (long MediaId, DateTimeOffset Deadline)> _inFlight = [];
    private static readonly TimeSpan ReportGrace = TimeSpan.FromMinutes(1);
    private WebhookEndpoint? _endpoint;
    private DateTimeOffset _endpointReadAt;
    private bool _reminderRegistered;
    private IGrainTimer? _timer;
    private DateTimeOffset? _timerDue;
    private DateTimeOffset _prunedAt;

    private long Id => this.GetPrimaryKeyLong();

    public async Task WakeAsync()
    {
        await GuardAsync();
        Schedule(TimeSpan.Zero);
    }

    public async Task ReloadAsync()
    {
        _endpoint = null;
        await GuardAsync();
        Schedule(TimeSpan.Zero);
    }

    public async Task<bool> RedeliverAsync(long deliveryId)
    {
        if (!await deliveries.RedeliverAsync(Id, deliveryId, time.GetUtcNow(), CancellationToken.None))
        {
            return false;
        }

        await GuardAsync();
        Schedule(TimeSpan.Zero);
        return true;
    }

    public async Task ReportAsync(WebhookAttemptReport report)
    {
        _inFlight.Remove(report.DeliveryId);
        var now = time.GetUtcNow();
        var decision = WebhookDeliveryRules.Decide(new AttemptAnswer(report.StatusCode, report.Error, report.RetryAfter), report.Attempt, report.Manual,
            _options.Schedule, now, Random.Shared.NextDouble());
        var outcome = decision.Verdict switch
        {
            DeliveryVerdict.Delivered => "delivered",
            DeliveryVerdict.Retry => "pending",
            _ => "failed",
        };
        var recorded = await deliveries.RecordAsync(Id, new AttemptRecord(report.DeliveryId, report.Attempt, report.StartedAt, report.LatencyMs,
            report.StatusCode, decision.Error, report.Manual, outcome, decision.NextAttemptAt), CancellationToken.None);
        if (recorded)
        {
            metrics.WebhookAttempted(decision.Verdict.ToString().ToLowerInvariant(), TimeSpan.FromMilliseconds(report.LatencyMs));
            if (decision.Verdict == DeliveryVerdict.Delivered)
            {
                metrics.WebhookDelivered(now - report.OccurredAt);
                if (_endpoint is not null)
                {
                    _endpoint = _endpoint with { LastSuccessAt = now };
                }
            }
            else
            {
                LogAttemptFailed(logger, Id, report.DeliveryId, report.Attempt, decision.Error);
            }

            if (decision.Verdict == DeliveryVerdict.Gone)
            {
                await DisableAsync("The receiver answered 410 Gone.");
            }
            else if (decision.Verdict == DeliveryVerdict.Exhausted && !report.Manual && _endpoint is { } endpoint
                     && WebhookDeliveryRules.Disables(endpoint.LastSuccessAt, endpoint.CreatedAt, now, _options.DisableAfter))
            {
                await DisableAsync($"No successful delivery since {(endpoint.LastSuccessAt ?? endpoint.CreatedAt):u}; last error: {decision.Error}");
            }
        }

        await PumpAsync();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        _reminderRegistered = true;
        var now = time.GetUtcNow();
        if (now - _prunedAt > TimeSpan.FromHours(1))
        {
            _prunedAt = now;
            await deliveries.PruneAsync(Id, now - _options.LogRetention, CancellationToken.None);
        }

        await PumpAsync();
    }

    // Starts what is due, up to the subscription's concurrency, and arms the timer for what falls due next. With nothing
    // pending and nothing in flight, the reminder goes: a later hand-off wakes the grain and registers it again first.
    private async Task PumpAsync()
    {
        var now = time.GetUtcNow();
        var endpoint = await EndpointAsync(now);
        if (endpoint is null || endpoint.DisabledAt is not null)
        {
            // Deleted (its rows went with it), or disabled (its pending rows wait until it is enabled, which reloads).
            await ForgetReminderAsync();
            if (endpoint is null)
            {
                DeactivateOnIdle();
            }

            return;
        }

        foreach (var (id, lost) in _inFlight.Where(f => f.Value.Deadline < now).ToList())
        {
            _inFlight.Remove(id);
            LogReportLost(logger, Id, id, lost.MediaId);
        }

        var slots = _options.MaxConcurrency - _inFlight.Count;
        if (slots <= 0)
        {
            Schedule(_inFlight.Values.Min(f => f.Deadline) - now);
            return;
        }

        var (due, next) = await deliveries.DueAsync(Id, [.. _inFlight.Values.Select(f => f.MediaId).Distinct()], now, slots, CancellationToken.None);
        foreach (var delivery in due)
        {
            Start(endpoint, delivery, now);
        }

        if (next is { } at)
        {
            Schedule(at - now);
        }
        else if (_inFlight.Count > 0)
        {
            // Woken by the reports; the earliest deadline in case one never comes.
            Schedule(_inFlight.Values.Min(f => f.Deadline) - now);
        }
        else if (due.Count == 0 && _inFlight.Count == 0)
        {
            await ForgetReminderAsync();
        }
    }

    private void Start(WebhookEndpoint endpoint, DueDelivery delivery, DateTimeOffset now)
    {
        _inFlight[delivery.Id] = (delivery.MediaId, now + _options.DeliveryTimeout + ReportGrace);
        var attempt = new WebhookAttempt(endpoint.Url, delivery.EventId, delivery.Body, endpoint.SigningSecrets(now), _options.DeliveryTimeout);
        var self = this.AsReference<IWebhookEndpointGrain>();
        var number = delivery.Attempts + 1;
        _ = Task.Run(async () =>
        {
            var sent = await sender.SendAsync(attempt, CancellationToken.None);
            var report = new WebhookAttemptReport(delivery.Id, number, sent.StartedAt, sent.LatencyMs, sent.Answer.StatusCode, sent.Answer.Error,
                sent.Answer.RetryAfter, delivery.Manual, delivery.OccurredAt, delivery.Type);
            for (var tries = 0; ; tries++)
            {
                try
                {
                    await self.ReportAsync(report);
                    return;
                }
                catch (Exception ex) when (tries < 3)
                {
                    // The row stays pending: if every report is lost, the delivery is sent again later, same id.
                    LogReportRetried(logger, Id, delivery.Id, ex.Message);
                    await Task.Delay(TimeSpan.FromSeconds(tries switch { 0 => 0.1, 1 => 1, _ => 5 }));
                }
            }
        });
    }

    private async Task<WebhookEndpoint?> EndpointAsync(DateTimeOffset now)
    {
        if (_endpoint is null || now - _endpointReadAt > _options.ConfigRefresh)
        {
            _endpoint = await deliveries.EndpointAsync(_serviceId, Id, CancellationToken.None);
            _endpointReadAt = now;
        }

        return _endpoint;
    }

    private async Task DisableAsync(string reason)
    {
        await deliveries.DisableAsync(Id, reason, time.GetUtcNow(), CancellationToken.None);
        metrics.WebhookDisabled();
        LogDisabled(logger, Id, reason);
        _endpoint = null;
    }

    // Registers the reminder (once per activation) before the caller learns its deliveries are safe.
    private async Task GuardAsync()
    {
        if (!_reminderRegistered)
        {
            await this.RegisterOrUpdateReminder(DeliverReminder, _options.ReminderPeriod, _options.ReminderPeriod);
            _reminderRegistered = true;
        }
    }

    private async Task ForgetReminderAsync()
    {
        if (!_reminderRegistered)
        {
            return;
        }

        try
        {
            if (await this.GetReminder(DeliverReminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }

            _reminderRegistered = false;
        }
        catch (Exception ex) when (Resilience.IsPostgresUnavailable(ex))
        {
            // Left behind, it fires, finds nothing and is forgotten then.
            LogReportRetried(logger, Id, 0, ex.Message);
        }
    }

    private void Schedule(TimeSpan due)
    {
        var at = time.GetUtcNow() + (due < TimeSpan.Zero ? TimeSpan.Zero : due);
        if (_timer is not null && _timerDue is { } current && current <= at)
        {
            return;
        }

        _timer?.Dispose();
        _timerDue = at;
        _timer = this.RegisterGrainTimer(static async (grain, _) =>
        {
            grain._timerDue = null;
            grain._timer = null;
            await grain.PumpAsync();
        }, this, new GrainTimerCreationOptions(at - time.GetUtcNow() is var d && d > TimeSpan.Zero ? d : TimeSpan.Zero, Timeout.InfiniteTimeSpan));
    }

    [LoggerMessage(EventId = LogEvents.WebhookDelivery + 1, Level = LogLevel.Information, Message = "Webhook {SubscriptionId}: delivery {DeliveryId} attempt {Attempt} failed: {Error}")]
    private static partial void LogAttemptFailed(ILogger logger, long subscriptionId, long deliveryId, int attempt, string? error);

    [LoggerMessage(EventId = LogEvents.WebhookDelivery + 2, Level = LogLevel.Warning, Message = "Webhook {SubscriptionId} disabled: {Reason}")]
    private static partial void LogDisabled(ILogger logger, long subscriptionId, string reason);

    [LoggerMessage(EventId = LogEvents.WebhookDelivery + 4, Level = LogLevel.Warning, Message = "Webhook {SubscriptionId}: no report of delivery {DeliveryId} (media item {MediaId}); sent again")]
    private static partial void LogReportLost(ILogger logger, long subscriptionId, long deliveryId, long mediaId);

    [LoggerMessage(EventId = LogEvents.WebhookDelivery + 3, Level = LogLevel.Warning, Message = "Webhook {SubscriptionId}: report of delivery {DeliveryId} not taken now: {Reason}")]
    private static partial void LogReportRetried(ILogger logger, long subscriptionId, long deliveryId, string reason);
}
