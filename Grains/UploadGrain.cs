using MediaService.DataPlane;
using MediaService.DataPlane.Telemetry;
using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;
using MediaService.Grains.Processing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;

namespace MediaService.Grains;

/// <summary>
/// One media item. Non-reentrant: every state change is one turn that runs the domain rule, then
/// persists the result before answering, so an answer never reports a state PostgreSQL does not hold.
/// Unfinished resumable uploads carry a durable reminder that expires them, surviving silo restarts.
/// Once stored, the item is processed: the write that marks it stored also starts processing (so it starts exactly
/// once), attempts run in the silo's processing slots off the grain's turn, and a durable reminder replaces an
/// attempt lost with its silo until processing has ended.
/// </summary>
public sealed partial class UploadGrain(
    [PersistentState(StorageNames.UploadState, StorageNames.Media)] IPersistentState<MediaItemState> state,
    MediaObjectStore store,
    IOptions<UploadOptions> uploadOptions,
    IProcessingQueue processing,
    IOptions<ProcessingOptions> processingOptions,
    MediaIndex index,
    IOptions<MetadataOptions> metadataOptions,
    IOptions<Orleans.Configuration.ClusterOptions> clusterOptions,
    ResiliencePipelineProvider<string> pipelines,
    TimeProvider time,
    MediaMetrics metrics,
    Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime,
    Operations.SiloPeers peers,
    ILogger<UploadGrain> logger) : Grain, IUploadGrain, IRemindable, IGrainMigrationParticipant
{
    private const string RunningAttemptKey = "media.running-attempt";
    private const string ExpiryReminder = "expire";
    private const string ProcessingReminder = "process";
    private const string IndexReminder = "index";
    private readonly ResiliencePipeline _postgres = pipelines.GetPipeline(Resilience.Postgres);
    private readonly ProcessingOptions _processing = processingOptions.Value;
    private readonly MetadataOptions _metadata = metadataOptions.Value;
    private readonly string _serviceId = clusterOptions.Value.ServiceId;

    // The attempt this activation handed to the processing slots and has not heard back from; a new activation has
    // none, so an attempt recorded in the state without one here was lost (its silo died or the grain moved).
    private int? _runningAttempt;
    private IGrainTimer? _processingTimer;

    // Whether this activation counts in the silo's unfinished uploads (media.uploads.active, GET /admin/cluster).
    private bool _countedActive;

    private long Id => this.GetPrimaryKeyLong();

    private MediaItemState Current => state.State ?? MediaItemState.Empty;

    private long MaxSize => uploadOptions.Value.MaxUploadBytes;

    // Another owner is told that the item does not exist, whatever its state.
    private bool Visible => MediaItemLifecycle.Visible(Current, CallerContext.Owner);

    private void RequireOwner()
    {
        if (!Visible)
        {
            throw new MediaException(MediaErrorCode.NotFound, "No media item exists under this id.");
        }
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Current.Processing is { Pending: true } p)
        {
            ScheduleProcessingCheck(p.NextAttemptAt is { } next ? next - time.GetUtcNow() : TimeSpan.Zero);
        }

        metrics.MediaItemActivated(1);
        CountActive();
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (reason.ReasonCode == DeactivationReasonCode.ShuttingDown && peers.AnyOtherActive())
        {
            // Draining silo: move to another silo with the state in hand rather than wait to be read again. A
            // processing attempt running here is abandoned with the silo, so the moved item starts the next one at once
            // (see OnDehydrate). The last silo of the cluster just deactivates its grains: their state is saved.
            this.MigrateOnIdle();
        }

        metrics.MediaItemActivated(-1);
        if (_countedActive)
        {
            _countedActive = false;
            metrics.ActiveUploadChanged(-1);
        }

        return Task.CompletedTask;
    }

    // Moved by the rebalancer, the item keeps waiting for the attempt running here: it still reports, to wherever the
    // item is. Moved because this silo stops, it does not: the attempt is abandoned with the silo.
    public void OnDehydrate(IDehydrationContext dehydrationContext)
    {
        if (_runningAttempt is { } attempt && !lifetime.ApplicationStopping.IsCancellationRequested)
        {
            dehydrationContext.TryAddValue(RunningAttemptKey, attempt);
        }
    }

    public void OnRehydrate(IRehydrationContext rehydrationContext)
    {
        if (rehydrationContext.TryGetValue<int>(RunningAttemptKey, out var attempt))
        {
            _runningAttempt = attempt;
        }
    }

    private void CountActive()
    {
        var active = Current.Status == MediaStatus.Receiving;
        if (active != _countedActive)
        {
            _countedActive = active;
            metrics.ActiveUploadChanged(active ? 1 : -1);
        }
    }

    private void CountTransition(MediaItemState before, MediaItemState after)
    {
        if (!before.Exists && after.Exists)
        {
            metrics.UploadStarted(after.Concat == ConcatKind.None ? "single" : after.Concat.ToString().ToLowerInvariant());
        }

        if (before.Status != MediaStatus.Stored && after.Status == MediaStatus.Stored)
        {
            metrics.UploadCompleted();
        }

        CountActive();
    }

    public async Task<CreateMediaItemResult> CreateAsync(CreateMediaItem request)
    {
        if (Current.Exists)
        {
            return new CreateMediaItemResult(false);
        }

        var next = MediaItemLifecycle.Create(Current, Id, request, MaxSize, time.GetUtcNow(), CallerContext.Owner);
        await PersistAsync(next);
        if (next.ExpiresAt is { } expiresAt)
        {
            // Reminders fire at least a minute apart; the first firing is at the expiry.
            await this.RegisterOrUpdateReminder(ExpiryReminder, Max(expiresAt - time.GetUtcNow(), TimeSpan.Zero), TimeSpan.FromMinutes(1));
        }

        LogCreated(logger, Id, request.FileName);
        return new CreateMediaItemResult(true, next.ExpiresAt);
    }

    public async Task<AppendGrant> BeginAppendAsync(BeginAppend request)
    {
        RequireOwner();
        var (next, grant) = MediaItemLifecycle.BeginAppend(Current, request, MaxSize, time.GetUtcNow());
        await PersistAsync(next);
        return grant;
    }

    public async Task<MultipartTarget> OpenMultipartAsync(long lease)
    {
        RequireOwner();
        if (Current is { MultipartUploadId: { } open, Status: MediaStatus.Receiving } && Current.Lease == lease)
        {
            return new MultipartTarget(Current.StorageKey!, open);
        }

        // Validate before touching S3, so a refused writer opens nothing.
        MediaItemLifecycle.CheckCanOpenMultipart(Current, lease, time.GetUtcNow());
        var uploadId = await store.StartMultipartAsync(Current.StorageKey!, Current.ContentType, CancellationToken.None);
        await PersistAsync(MediaItemLifecycle.OpenMultipart(Current, lease, uploadId, time.GetUtcNow()));
        return new MultipartTarget(Current.StorageKey!, uploadId);
    }

    public async Task<int> ReservePartsAsync(long lease, int count)
    {
        RequireOwner();
        var (next, first) = MediaItemLifecycle.ReserveParts(Current, lease, count, time.GetUtcNow());
        await PersistAsync(next);
        return first;
    }

    public async Task RecordPartAsync(RecordPart request)
    {
        RequireOwner();
        var next = MediaItemLifecycle.RecordPart(Current, request, MaxSize, time.GetUtcNow());
        if (!ReferenceEquals(next, Current))
        {
            // A staged part's tail stays the item's tail until the commit.
            var consumedTail = request.ConsumesTail && !request.Staged ? Current.TailKey : null;
            await PersistAsync(next);
            await DeleteQuietlyAsync(consumedTail);
        }
    }

    public async Task<string?> RecordTailAsync(RecordTail request)
    {
        RequireOwner();
        var replaced = request.Staged ? null : Current.TailKey;
        await PersistAsync(MediaItemLifecycle.RecordTail(Current, request, MaxSize, time.GetUtcNow()));
        return replaced;
    }

    public async Task<long> CommitAsync(long lease)
    {
        RequireOwner();
        var tailBefore = Current.TailKey;
        var next = MediaItemLifecycle.Commit(Current, lease, time.GetUtcNow());
        if (!ReferenceEquals(next, Current))
        {
            await PersistAsync(next);
            if (tailBefore != Current.TailKey)
            {
                await DeleteQuietlyAsync(tailBefore);
            }
        }

        return Current.Offset;
    }

    public Task<CompletionPlan> PrepareCompletionAsync(long lease, long size)
    {
        RequireOwner();
        return Task.FromResult(MediaItemLifecycle.PlanCompletion(Current, lease, size, time.GetUtcNow()));
    }

    public async Task<MediaItemView> ConfirmStoredAsync(CompleteUpload request)
    {
        RequireOwner();
        if (Current.Status == MediaStatus.Stored && Current.Lease == request.Lease && Current.Size == request.Size)
        {
            return MediaItemLifecycle.ToView(Current, Id);
        }

        MediaItemLifecycle.CheckCompletion(Current, request, time.GetUtcNow());
        var tail = Current.TailKey;
        var head = await store.HeadAfterWriteAsync(Current.StorageKey!, request.Size, CancellationToken.None);
        var stored = MediaItemLifecycle.MarkStored(Current, request, head?.Size, head?.ETag, time.GetUtcNow());
        if (stored.Processing is not null)
        {
            // Registered before the write that starts processing: whatever happens after it, something wakes the item.
            await this.RegisterOrUpdateReminder(ProcessingReminder, _processing.ReminderPeriod, _processing.ReminderPeriod);
        }

        await PersistAsync(stored);
        LogStored(logger, Id, Current.Size);
        Dispatch();
        await DeleteQuietlyAsync(tail);
        await ForgetReminderAsync(ExpiryReminder);
        return MediaItemLifecycle.ToView(Current, Id);
    }

    public async Task AbandonAsync(long lease, string reason)
    {
        RequireOwner();
        var before = Current;
        await PersistAsync(MediaItemLifecycle.Fail(before, lease, reason, time.GetUtcNow()));
        LogFailed(logger, Id, reason);
        await ReleaseBytesAsync(before);
        await ForgetReminderAsync(ExpiryReminder);
    }

    public async Task TerminateAsync()
    {
        RequireOwner();
        var before = Current;
        await PersistAsync(MediaItemLifecycle.Terminate(before, time.GetUtcNow()));
        LogTerminated(logger, Id);
        await ReleaseBytesAsync(before);
        await ForgetReminderAsync(ExpiryReminder);
    }

    public async Task<MediaItemView> AnnotateAsync(AnnotationsPatch patch, long? expectedVersion)
    {
        RequireOwner();
        await PersistAsync(MediaItemLifecycle.Annotate(Current, patch, expectedVersion, _metadata, time.GetUtcNow()));
        return MediaItemLifecycle.ToView(Current, Id);
    }

    public async Task DeleteAsync(long? expectedVersion)
    {
        RequireOwner();
        // The tombstone is written first (the item answers 404 from then on), with the index reminder registered
        // before it: the release of the bytes and the index row is retried until both are done.
        await PersistAsync(MediaItemLifecycle.Delete(Current, expectedVersion, time.GetUtcNow()));
        LogDeleted(logger, Id);
        await ForgetReminderAsync(ExpiryReminder);
        await ForgetReminderAsync(ProcessingReminder);
    }

    public async Task<bool> CompleteProcessingAsync(ProcessingReport report)
    {
        if (_runningAttempt == report.Attempt)
        {
            _runningAttempt = null;
            this.DelayDeactivation(TimeSpan.FromMilliseconds(-1)); // no job of this activation runs any more
        }

        var (next, applied) = MediaProcessingRules.Apply(Current, report, _processing.Policy(), Random.Shared.NextDouble(), time.GetUtcNow());
        if (!applied)
        {
            LogStaleReport(logger, Id, report.Attempt, Current.Processing?.Attempt);
            return false;
        }

        await PersistAsync(next);
        if (Current.Processing is { Pending: true, NextAttemptAt: { } retryAt })
        {
            LogRetryScheduled(logger, Id, report.Attempt, retryAt, report.Reason);
            ScheduleProcessingCheck(retryAt - time.GetUtcNow());
        }
        else
        {
            LogProcessed(logger, Id, Current.Processing!.Status, Current.Processing.Reason);
            await ForgetReminderAsync(ProcessingReminder);
        }

        return true;
    }

    public Task<StoredContent?> GetRenditionAsync(string name) =>
        Task.FromResult(Visible && MediaProcessingRules.FindRendition(Current, name) is { } r
            ? new StoredContent(r.StorageKey, r.Size, r.ContentType, $"\"{r.Sha256}\"", Current.Processing!.FinishedAt ?? Current.UpdatedAt, r.Name)
            : null);

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == IndexReminder)
        {
            await SyncIndexAsync();
            return;
        }

        if (reminderName == ProcessingReminder)
        {
            if (Current.Processing is { Pending: true })
            {
                await CheckProcessingAsync();
            }
            else
            {
                await ForgetReminderAsync(ProcessingReminder);
            }

            return;
        }

        if (reminderName != ExpiryReminder)
        {
            return;
        }

        var before = Current;
        var next = MediaItemLifecycle.Expire(before, time.GetUtcNow());
        if (!ReferenceEquals(next, before))
        {
            await PersistAsync(next);
            LogExpired(logger, Id);
            metrics.UploadExpired();
            await ReleaseBytesAsync(before);
        }

        if (Current.Status != MediaStatus.Receiving)
        {
            await ForgetReminderAsync(ExpiryReminder);
        }
    }

    public Task<MediaItemView?> GetMetadataAsync() =>
        Task.FromResult(Current.Exists && Current.Status != MediaStatus.Deleted && Visible ? MediaItemLifecycle.ToView(Current, Id) : null);

    public async Task<MediaItemView?> GetMetadataFromStorageAsync()
    {
        RequireOwner();
        await state.ReadStateAsync();
        return await GetMetadataAsync();
    }

    public Task<StoredContent?> GetStoredContentAsync() =>
        Task.FromResult(Visible && Current is { Status: MediaStatus.Stored, StorageKey: { } key, StoredAt: { } storedAt } && MediaItemLifecycle.ContentETag(Current) is { } etag
            ? new StoredContent(key, Current.Size, MediaProcessingRules.ServedType(Current), etag, storedAt, Current.FileName)
            : null);

    // The item is already failed, terminated or expired when its bytes are released: a crash in between
    // leaves garbage in S3, never an item that claims bytes that are gone. Release is best effort.
    private async Task ReleaseBytesAsync(MediaItemState before)
    {
        try
        {
            await DeleteObjectsAsync(before);
        }
        catch (ObjectStoreUnavailableException)
        {
            LogReleaseDeferred(logger, Id);
        }
    }

    private async Task DeleteObjectsAsync(MediaItemState before)
    {
        if (before.StorageKey is null)
        {
            return;
        }

        if (before.MultipartUploadId is { } uploadId)
        {
            await store.TryAbortMultipartAsync(before.StorageKey, uploadId, CancellationToken.None);
        }

        await store.DeletePrefixAsync(MediaKeys.TailPrefix(Id), CancellationToken.None);
        await store.DeletePrefixAsync(MediaKeys.RenditionsPrefix(Id), CancellationToken.None);
        await store.DeleteAsync(before.StorageKey, CancellationToken.None);
    }

    // Brings the index row (and, for a deleted item, S3) in line with the state. The index reminder, registered
    // before the state write, stays until this succeeds, so a crash or an outage in between is caught up later.
    private async Task SyncIndexAsync()
    {
        try
        {
            if (Current.Status == MediaStatus.Deleted)
            {
                await DeleteObjectsAsync(Current);
                await index.DeleteAsync(_serviceId, Id, CancellationToken.None);
            }
            else if (Current.Exists)
            {
                await index.UpsertAsync(_serviceId, MediaIndexing.Entry(Current, Id), CancellationToken.None);
            }

            await ForgetReminderAsync(IndexReminder);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The state is durable already; the reminder retries.
            LogIndexDeferred(logger, Id, ex.Message);
        }
    }

    private async Task DeleteQuietlyAsync(string? key)
    {
        if (key is null)
        {
            return;
        }

        try
        {
            await store.DeleteAsync(key, CancellationToken.None);
        }
        catch (ObjectStoreUnavailableException)
        {
            LogReleaseDeferred(logger, Id);
        }
    }

    private async Task ForgetReminderAsync(string name)
    {
        var reminder = await this.GetReminder(name);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    // Hands the current attempt to this silo's processing slots, unless this activation already did.
    private void Dispatch()
    {
        if (Current.Processing is not { Pending: true, NextAttemptAt: null } p || _runningAttempt == p.Attempt)
        {
            return;
        }

        _runningAttempt = p.Attempt;
        this.DelayDeactivation(_processing.JobTimeout);
        processing.Enqueue(new ProcessingJob(Id, p.Attempt, Current.StorageKey!, Current.Size, Current.ContentType, Current.FileName));
    }

    // Processing waits, and no attempt of this activation runs: start the next one when due (the one recorded was
    // lost, or ended in a transient error), or give up once the attempts are spent.
    private async Task CheckProcessingAsync()
    {
        var now = time.GetUtcNow();
        if (Current.Processing is not { Pending: true } p
            || (_runningAttempt == p.Attempt && now - p.AttemptStartedAt < _processing.JobTimeout + _processing.ReminderPeriod))
        {
            // Nothing waits, or this activation's attempt runs (a job ends, and reports, within the job timeout; one
            // silent for longer lost its report and is replaced).
            return;
        }

        _runningAttempt = null;
        if (!MediaProcessingRules.IsDue(Current, now))
        {
            ScheduleProcessingCheck(p.NextAttemptAt!.Value - now);
            return;
        }

        await PersistAsync(MediaProcessingRules.NextAttempt(Current, _processing.Policy(), now));
        if (Current.Processing is { Pending: true } next)
        {
            LogAttemptStarted(logger, Id, next.Attempt);
            Dispatch();
        }
        else
        {
            LogProcessed(logger, Id, Current.Processing!.Status, Current.Processing.Reason);
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

    private async Task PersistAsync(MediaItemState next)
    {
        var indexed = MediaIndexing.Changes(Current, next);
        if (indexed)
        {
            await this.RegisterOrUpdateReminder(IndexReminder, _metadata.IndexRetryPeriod, _metadata.IndexRetryPeriod);
        }

        await WriteAsync(next);
        if (indexed)
        {
            await SyncIndexAsync();
        }
    }

    private async Task WriteAsync(MediaItemState next)
    {
        var previous = state.State;
        state.State = next with { Version = Current.Version + 1 };
        try
        {
            // Writes are conditional on the ETag Orleans holds: a repeated write after an ambiguous failure
            // is refused rather than applied twice, so retrying is safe.
            await _postgres.RunAsync(idempotent: true, async _ =>
            {
                await state.WriteStateAsync();
                return true;
            }, CancellationToken.None);
        }
        catch
        {
            state.State = previous;
            throw;
        }

        CountTransition(previous ?? MediaItemState.Empty, Current);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "Media item {MediaId} deleted")]
    private static partial void LogDeleted(ILogger logger, long mediaId);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning, Message = "Media item {MediaId}: index (or storage) not brought up to date now, retried later: {Reason}")]
    private static partial void LogIndexDeferred(ILogger logger, long mediaId, string reason);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Media item {MediaId} created (file name {FileName})")]
    private static partial void LogCreated(ILogger logger, long mediaId, string? fileName);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Media item {MediaId} stored ({Size} bytes)")]
    private static partial void LogStored(ILogger logger, long mediaId, long size);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Media item {MediaId} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, long mediaId, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Media item {MediaId}: partial bytes could not be released now")]
    private static partial void LogReleaseDeferred(ILogger logger, long mediaId);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Media item {MediaId} terminated by the client")]
    private static partial void LogTerminated(ILogger logger, long mediaId);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Media item {MediaId} expired unfinished")]
    private static partial void LogExpired(ILogger logger, long mediaId);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Media item {MediaId} processed: {Status} {Reason}")]
    private static partial void LogProcessed(ILogger logger, long mediaId, ProcessingStatus status, string? reason);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "Media item {MediaId}: processing attempt {Attempt} started")]
    private static partial void LogAttemptStarted(ILogger logger, long mediaId, int attempt);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning,
        Message = "Media item {MediaId}: processing attempt {Attempt} failed transiently; next attempt at {RetryAt}: {Reason}")]
    private static partial void LogRetryScheduled(ILogger logger, long mediaId, int attempt, DateTimeOffset retryAt, string? reason);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information,
        Message = "Media item {MediaId}: report of processing attempt {Attempt} ignored (current attempt {Current})")]
    private static partial void LogStaleReport(ILogger logger, long mediaId, int attempt, int? current);
}
