using System.Collections.Immutable;
using MediaService.DataPlane.Sharding;
using MediaService.DataPlane.Telemetry;
using MediaService.DataPlane.Webhooks;
using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.Logging;

namespace MediaService.Grains;

/// <summary>
/// The outbox of one media item: what must follow each durable change of its state, after the write, and be retried
/// until done. That is its search index row, the release of an ended item's objects in S3, and the hand-off of the
/// events born in the write to webhook delivery. The item's grain registers the index reminder before a write that
/// leaves anything here, and forgets it once <see cref="CaughtUp"/>: a crash or an outage in between is caught up by
/// the reminder.
/// </summary>
internal sealed partial class IndexOutbox(
    long id,
    string serviceId,
    IIndexWriter index,
    IEventHandOff handOff,
    IGrainFactory grains,
    ObjectCustody custody,
    TimeSpan wakeTimeout,
    MediaMetrics metrics,
    ILogger logger)
{
    private int _handOffFailures;

    /// <summary>Whether the index row (or S3, for an ended item) may be behind the state.</summary>
    public bool IndexBehind { get; set; }

    /// <summary>True when nothing follows the item's state any more: the index is up to date and the outbox empty.</summary>
    public bool CaughtUp(MediaItemState current) => !IndexBehind && current.Outbox.IsDefaultOrEmpty;

    /// <summary>True when adding <paramref name="born"/> events would overfill the outbox (its hand-off is failing).</summary>
    public static bool Overflows(MediaItemState current, int born) => current.Outbox.Length + born > MediaEventRules.MaxOutbox;

    /// <summary>Counts and logs the events born in a write that is now durable.</summary>
    public void Born(ImmutableArray<MediaEvent> events, int pending)
    {
        foreach (var e in events)
        {
            metrics.WebhookEventBorn(e.Type);
            LogEventBorn(logger, id, e.ItemVersion, e.Type, e.EventId, pending);
        }
    }

    /// <summary>
    /// Brings the index row (and, for a deleted or unfinished-ended item, S3) in line with the state. False when the
    /// index or S3 did not answer: the state is durable already, and the reminder retries.
    /// </summary>
    public async Task<bool> SyncAsync(MediaItemState current)
    {
        try
        {
            if (current.Status == MediaStatus.Deleted)
            {
                await custody.DeleteAllAsync(current);
                await index.DeleteAsync(serviceId, id, CancellationToken.None);
            }
            else if (current.Exists)
            {
                if (current.Status is MediaStatus.Failed or MediaStatus.Expired or MediaStatus.Terminated)
                {
                    // An upload that ended unfinished keeps no object: its release is retried with the index until done.
                    await custody.DeleteAllAsync(current);
                }

                await index.UpsertAsync(serviceId, MediaIndexing.Entry(current, id), CancellationToken.None);
            }

            IndexBehind = false;
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            IndexDeferred(ex);
            return false;
        }
    }

    /// <summary>
    /// Hands the outbox to the webhook queue and wakes the subscriptions it reached; returns the state with the handed
    /// events trimmed, and how many subscriptions took them. The trim must be written when any did; when none did it need
    /// not be (handing the events off again after a crash queues nothing). Repeating a hand-off queues nothing twice.
    /// Throws when it failed; the events stay, and <see cref="Deferred"/> says when to try again.
    /// </summary>
    public async Task<(MediaItemState Trimmed, int Subscriptions)> HandOffAsync(MediaItemState current)
    {
        var outbox = current.Outbox;
        var subscriptions = await handOff.HandOffAsync(serviceId, current.Owner ?? string.Empty, id,
            [.. outbox.Select(e => new OutboxEvent(e.EventId, e.Type, e.ItemVersion, e.OccurredAt, e.Body))], CancellationToken.None);
        await Task.WhenAll(subscriptions.Select(s => grains.GetGrain<IWebhookEndpointGrain>(s).WakeAsync().WaitAsync(wakeTimeout)));
        var handed = outbox.Select(e => e.EventId).ToHashSet(StringComparer.Ordinal);
        return (current with { Outbox = MediaEventRules.Trim(current.Outbox, handed) }, subscriptions.Count);
    }

    /// <summary>Records a hand-off of <paramref name="outbox"/> to <paramref name="subscriptions"/> subscriptions whose
    /// trim is done, at <paramref name="now"/>.</summary>
    public void HandedOff(ImmutableArray<MediaEvent> outbox, int subscriptions, DateTimeOffset now)
    {
        foreach (var e in outbox)
        {
            metrics.WebhookEventHandedOff(now - e.OccurredAt);
        }

        if (logger.IsEnabled(LogLevel.Debug))
        {
            LogHandedOff(logger, id, outbox.Length, string.Join(",", outbox.Select(e => e.EventId)), subscriptions);
        }

        _handOffFailures = 0;
    }

    /// <summary>Logs that bringing the index up to date did not finish now (the reminder retries).</summary>
    public void IndexDeferred(Exception failure) => LogIndexDeferred(logger, id, failure.Message);

    /// <summary>Records a failed hand-off and returns when to try again, backing off up to 30 s.</summary>
    public TimeSpan Deferred(int pending, Exception failure)
    {
        _handOffFailures++;
        LogHandOffDeferred(logger, id, pending, failure.Message);
        return TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(_handOffFailures - 1, 5)));
    }

    [LoggerMessage(EventId = LogEvents.MediaItem + 17, Level = LogLevel.Debug, Message = "Media item {MediaId} v{Version}: event {Type} {EventId} born; {Pending} in the outbox")]
    private static partial void LogEventBorn(ILogger logger, long mediaId, long version, string type, string eventId, int pending);

    [LoggerMessage(EventId = LogEvents.MediaItem + 18, Level = LogLevel.Debug, Message = "Media item {MediaId}: {Count} events ({EventIds}) handed off to {Subscriptions} subscriptions")]
    private static partial void LogHandedOff(ILogger logger, long mediaId, int count, string eventIds, int subscriptions);

    [LoggerMessage(EventId = LogEvents.MediaItem + 16, Level = LogLevel.Warning, Message = "Media item {MediaId}: {Count} events not handed to webhooks now, retried later: {Reason}")]
    private static partial void LogHandOffDeferred(ILogger logger, long mediaId, int count, string reason);

    [LoggerMessage(EventId = LogEvents.MediaItem + 12, Level = LogLevel.Warning, Message = "Media item {MediaId}: index (or storage) not brought up to date now, retried later: {Reason}")]
    private static partial void LogIndexDeferred(ILogger logger, long mediaId, string reason);
}
