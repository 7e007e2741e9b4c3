using MediaService.DataPlane;
using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;

namespace MediaService.Grains;

// How the item's state becomes durable: one conditional write per change, with the events born in it, and what follows
// the write (the index row, the outbox's hand-off) through the IndexOutbox.
public sealed partial class MediaItemGrain
{
    // Every durable change goes through here: its events are born in the same write (the outbox), the index reminder is
    // registered before it when the index or the outbox has something to catch up, and both are brought up to date after.
    private async Task PersistAsync(MediaItemState next)
    {
        var events = MediaEventRules.For(Current, next, Id, Current.Version + 1, _time.GetUtcNow());
        if (IndexOutbox.Overflows(Current, events.Length))
        {
            // The queue has not taken the outbox for a while (PostgreSQL, or a subscription's silo, did not answer):
            // try once more now, and refuse the change rather than make it without its events.
            await SettleAsync();
            if (IndexOutbox.Overflows(Current, events.Length))
            {
                throw MediaException.Unavailable("Events of earlier changes are still being handed to webhooks; nothing was changed. Retry later.",
                    _postgresRetryAfter);
            }
        }

        next = next with { Outbox = MediaEventRules.Carry(Current.Outbox, events) };
        var indexed = MediaIndexing.Changes(Current, next);
        if (indexed || !events.IsEmpty)
        {
            await RegisterReminderAsync(IndexReminder, _metadata.IndexRetryPeriod, _metadata.IndexRetryPeriod);
        }

        await WriteAsync(next);
        _outbox.Born(events, Current.Outbox.Length);
        if (indexed)
        {
            _outbox.IndexBehind = true;
            await SyncIndexAsync();
        }

        if (!Current.Outbox.IsDefaultOrEmpty)
        {
            ScheduleSettle(TimeSpan.Zero);
        }
    }

    // Persists when the change must be durable before it is answered; otherwise keeps it in memory until the next write.
    private async Task KeepAsync(MediaItemState next, bool durable)
    {
        if (durable)
        {
            await PersistAsync(next);
        }
        else
        {
            // The takeover lives in this activation until the next write: it is not collected while idle meanwhile (a
            // slow client's part may take long to arrive).
            _state.State = next;
            this.DelayDeactivation(_uploads.MinRateGracePeriod + TimeSpan.FromHours(2));
        }
    }

    // Writes the state. A change bumps the version (the metadata ETag); housekeeping (the outbox's trim) does not, so that
    // it never turns a client's If-Match into a 412.
    private async Task WriteAsync(MediaItemState next, bool bumpVersion = true)
    {
        var previous = _state.State;
        _state.State = bumpVersion ? next with { Version = Current.Version + 1 } : next;
        try
        {
            // Retried (conditional on the ETag, so a repeat is refused rather than applied twice) and counted by the
            // breaker of this item's database, in the storage router (Storage/ShardedGrainStorage).
            await _state.WriteStateAsync();
        }
        catch (Exception ex) when (Refusal(ex) is { } refused)
        {
            // The storage router refused it (the item's shard is being moved): nothing was written.
            _state.State = previous;
            throw refused;
        }
        catch (Exception ex) when (Resilience.IsPostgresUnavailable(ex))
        {
            _state.State = previous;
            LogDatabaseUnavailable(_logger, Id, ex.GetType().Name, ex.Message);
            throw MediaException.Unavailable("The database did not answer; nothing was changed. Retry later.", _postgresRetryAfter);
        }
        catch
        {
            _state.State = previous;
            throw;
        }

        _durable = Current;
        CountTransition(previous ?? MediaItemState.Empty, Current);
    }

    // The index reminder, registered before the state write, stays until this succeeds and the outbox is empty.
    private async Task SyncIndexAsync()
    {
        if (!await _outbox.SyncAsync(Current) || !Current.Outbox.IsDefaultOrEmpty)
        {
            return;
        }

        try
        {
            await ForgetReminderAsync(IndexReminder);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The state is durable already: a reminder left registered finds nothing to do when it fires.
            _outbox.IndexDeferred(ex);
        }
    }

    private void ScheduleSettle(TimeSpan due)
    {
        _settleTimer?.Dispose();
        _settleTimer = this.RegisterGrainTimer(static (grain, _) => grain.SettleAsync(), this,
            new GrainTimerCreationOptions(due, Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    // Hands the outbox over, then trims it: a crash between the hand-off and the trim hands the same events off again,
    // which queues nothing twice. Once the outbox is empty and the index is up to date, the index reminder goes.
    private async Task SettleAsync()
    {
        var outbox = Current.Outbox;
        if (outbox.IsDefaultOrEmpty)
        {
            return;
        }

        try
        {
            var (trimmed, subscriptions) = await _outbox.HandOffAsync(Current);
            if (subscriptions > 0)
            {
                await WriteAsync(trimmed, bumpVersion: false);
            }
            else
            {
                // The stored copy keeps the events until the next write; handing them off again after a crash queues
                // nothing, since a subscription made later takes only events that happened after it was made.
                _state.State = trimmed;
            }

            _outbox.HandedOff(outbox, subscriptions, _time.GetUtcNow());
            if (_outbox.CaughtUp(Current))
            {
                await ForgetReminderAsync(IndexReminder);
            }
        }
        catch (Exception ex)
        {
            // The events stay in the outbox; the index reminder backs this timer up.
            ScheduleSettle(_outbox.Deferred(outbox.Length, ex));
        }
    }

    // The storage router's own refusal, wrapped by Orleans' state bridge on the way here.
    private static MediaException? Refusal(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is MediaException { Code: MediaErrorCode.Unavailable } refused)
            {
                return refused;
            }
        }

        return null;
    }
}
