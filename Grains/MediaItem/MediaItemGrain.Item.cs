using MediaService.DataPlane;
using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.Logging;

namespace MediaService.Grains;

// The metadata facet (IMediaMetadata), the serving facet (IMediaServing) and the facet processing attempts report to
// (IMediaProcessingReports), with the driver's checks of an attempt that went quiet.
public sealed partial class MediaItemGrain
{
    /// <inheritdoc />
    public Task<MediaItemView?> GetMetadataAsync() =>
        Task.FromResult(Durable.Exists && Durable.Status != MediaStatus.Deleted && Visible ? MediaItemLifecycle.ToView(Durable, Id) : null);

    /// <inheritdoc />
    public async Task<MediaItemView?> GetMetadataFromStorageAsync()
    {
        RequireOwner();
        try
        {
            await _state.ReadStateAsync();
        }
        catch (Exception ex) when (Refusal(ex) is { } refused)
        {
            throw refused;
        }
        catch (Exception ex) when (Resilience.IsPostgresUnavailable(ex))
        {
            throw MediaException.Unavailable("The database did not answer. Retry later.", _postgresRetryAfter);
        }

        // What was only in memory (a takeover, part numbers handed out) is gone, as after a crash: start above the ceiling.
        _state.State = MediaItemLifecycle.Reactivated(_state.State);
        _durable = Current;
        return await GetMetadataAsync();
    }

    /// <inheritdoc />
    public async Task<MediaItemView> AnnotateAsync(AnnotationsPatch patch, long? expectedVersion)
    {
        RequireOwner();
        await PersistAsync(MediaItemLifecycle.Annotate(Current, patch, expectedVersion, _metadata, _time.GetUtcNow()));
        return MediaItemLifecycle.ToView(Current, Id);
    }

    /// <inheritdoc />
    public async Task DeleteAsync(long? expectedVersion)
    {
        RequireOwner();
        // The tombstone is written first (the item answers 404 from then on), with the index reminder registered
        // before it: the release of the bytes and the index row is retried until both are done.
        await PersistAsync(MediaItemLifecycle.Delete(Current, expectedVersion, _time.GetUtcNow()));
        LogDeleted(_logger, Id);
        await ForgetReminderAsync(ExpiryReminder);
        await ForgetReminderAsync(ProcessingReminder);
    }

    /// <inheritdoc />
    public Task<StoredContent?> GetStoredContentAsync() =>
        Task.FromResult(Visible && Durable is { Status: MediaStatus.Stored, StorageKey: { } key, StoredAt: { } storedAt } stored && MediaItemLifecycle.ContentETag(stored) is { } etag
            ? new StoredContent(key, stored.Size, MediaProcessingRules.ServedType(stored), etag, storedAt, stored.FileName)
            : null);

    /// <inheritdoc />
    public Task<StoredContent?> GetRenditionAsync(string name) =>
        Task.FromResult(Visible && MediaProcessingRules.FindRendition(Durable, name) is { } r
            ? new StoredContent(r.StorageKey, r.Size, r.ContentType, $"\"{r.Sha256}\"", Durable.Processing!.FinishedAt ?? Durable.UpdatedAt, r.Name)
            : null);

    /// <inheritdoc />
    public async Task<bool> CompleteProcessingAsync(ProcessingReport report)
    {
        if (_driver.Reported(report.Attempt))
        {
            this.DelayDeactivation(TimeSpan.FromMilliseconds(-1)); // no job of this activation runs any more
        }

        var (next, applied) = MediaProcessingRules.Apply(Current, report, _processing.Policy(), Random.Shared.NextDouble(), _time.GetUtcNow());
        if (!applied)
        {
            LogStaleReport(_logger, Id, report.Attempt, Current.Processing?.Attempt);
            return false;
        }

        await PersistAsync(next);
        if (Current.Processing is { Pending: true, NextAttemptAt: { } retryAt })
        {
            LogRetryScheduled(_logger, Id, report.Attempt, retryAt, report.Reason);
            ScheduleProcessingCheck(retryAt - _time.GetUtcNow());
        }
        else
        {
            LogProcessed(_logger, Id, Current.Processing!.Status, Current.Processing.Reason);
            await ForgetReminderAsync(ProcessingReminder);
        }

        return true;
    }

    // Hands the current attempt to this silo's processing slots, unless this activation already did.
    private void Dispatch()
    {
        if (_driver.Dispatch(Current))
        {
            this.DelayDeactivation(_processing.JobTimeout);
        }
    }

    // Processing waits, and no attempt of this activation runs: start the next one when due (the one recorded was
    // lost, or ended in a transient error), or give up once the attempts are spent.
    private async Task CheckProcessingAsync()
    {
        var now = _time.GetUtcNow();
        switch (_driver.Check(Current, now))
        {
            case AttemptCheck.Wait:
                ScheduleProcessingCheck(_driver.DueIn);
                return;
            case AttemptCheck.None:
                return;
        }

        await PersistAsync(MediaProcessingRules.NextAttempt(Current, _processing.Policy(), now));
        if (Current.Processing is { Pending: true } next)
        {
            LogAttemptStarted(_logger, Id, next.Attempt);
            Dispatch();
        }
        else
        {
            LogProcessed(_logger, Id, Current.Processing!.Status, Current.Processing.Reason);
            await ForgetReminderAsync(ProcessingReminder);
        }
    }

    private void ScheduleProcessingCheck(TimeSpan due)
    {
        _processingTimer?.Dispose();
        _processingTimer = this.RegisterGrainTimer(
            static (grain, _) => grain.CheckProcessingAsync(), this,
            new GrainTimerCreationOptions(Max(due, TimeSpan.Zero), Timeout.InfiniteTimeSpan) { KeepAlive = false });
    }

    [LoggerMessage(EventId = LogEvents.MediaItem + 11, Level = LogLevel.Information, Message = "Media item {MediaId} deleted")]
    private static partial void LogDeleted(ILogger logger, long mediaId);

    [LoggerMessage(EventId = LogEvents.MediaItem + 7, Level = LogLevel.Information, Message = "Media item {MediaId} processed: {Status} {Reason}")]
    private static partial void LogProcessed(ILogger logger, long mediaId, ProcessingStatus status, string? reason);

    [LoggerMessage(EventId = LogEvents.MediaItem + 8, Level = LogLevel.Information, Message = "Media item {MediaId}: processing attempt {Attempt} started")]
    private static partial void LogAttemptStarted(ILogger logger, long mediaId, int attempt);

    [LoggerMessage(EventId = LogEvents.MediaItem + 9, Level = LogLevel.Warning,
        Message = "Media item {MediaId}: processing attempt {Attempt} failed transiently; next attempt at {RetryAt}: {Reason}")]
    private static partial void LogRetryScheduled(ILogger logger, long mediaId, int attempt, DateTimeOffset retryAt, string? reason);

    [LoggerMessage(EventId = LogEvents.MediaItem + 10, Level = LogLevel.Information,
        Message = "Media item {MediaId}: report of processing attempt {Attempt} ignored (current attempt {Current})")]
    private static partial void LogStaleReport(ILogger logger, long mediaId, int attempt, int? current);
}
