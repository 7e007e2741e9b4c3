using MediaService.DataPlane;
using MediaService.DataPlane.Telemetry;
using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;
using MediaService.Grains.Processing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaService.Grains;

/// <summary>
/// One media item. Non-reentrant: every state change is one turn that runs the domain rule, then
/// persists the result before answering, so an answer never reports a state PostgreSQL does not hold.
/// Unfinished resumable uploads carry a durable reminder that expires them, surviving silo restarts.
/// Once stored, the item is processed: the write that marks it stored also starts processing (so it starts exactly
/// once), attempts run in the silo's processing slots off the grain's turn, and a durable reminder replaces an
/// attempt lost with its silo until processing has ended.
/// </summary>
[GrainType("upload")]
public sealed partial class MediaItemGrain(
    [PersistentState(StorageNames.UploadState, StorageNames.Media)] IPersistentState<MediaItemState> state,
    DataPlane.Objects.IObjectLifecycle store,
    IOptions<UploadOptions> uploadOptions,
    IOptions<PostgresOptions> postgresOptions,
    IProcessingQueue processing,
    IOptions<ProcessingOptions> processingOptions,
    DataPlane.Sharding.IIndexWriter index,
    IOptions<MetadataOptions> metadataOptions,
    IOptions<Orleans.Configuration.ClusterOptions> clusterOptions,
    TimeProvider time,
    MediaMetrics metrics,
    Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime,
    Operations.SiloPeers peers,
    DataPlane.Webhooks.IEventHandOff webhooks,
    IOptions<DataPlane.Webhooks.WebhookOptions> webhookOptions,
    ILogger<MediaItemGrain> logger) : Grain, IMediaItemGrain, IRemindable, IGrainMigrationParticipant
{
    private const string RunningAttemptKey = "media.running-attempt";
    private const string ExpiryReminder = "expire";
    private const string ProcessingReminder = "process";
    private const string IndexReminder = "index";
    private const string CompletionReminder = "complete";
    private readonly TimeSpan _postgresRetryAfter = postgresOptions.Value.BreakerBreakDuration;
    private readonly ProcessingOptions _processing = processingOptions.Value;
    private readonly MetadataOptions _metadata = metadataOptions.Value;
    private readonly string _serviceId = clusterOptions.Value.ServiceId;

    // The attempt this activation handed to the processing slots and has not heard back from; a new activation has
    // none, so an attempt recorded in the state without one here was lost (its silo died or the grain moved).
    private int? _runningAttempt;
    private IGrainTimer? _processingTimer;
    private IGrainTimer? _completionTimer;
    private IGrainTimer? _sweepTimer;
    private int _sweepAttempts;
    private static readonly TimeSpan SweepAgainAfter = TimeSpan.FromSeconds(20);
    private const int MaxSweepAttempts = 10;

    // The state as PostgreSQL holds it, for the reads that interleave with a long call (an assembly in S3): the current
    // state can be ahead of it while a write is in flight, and by leases and part numbers that stay in memory.
    private MediaItemState? _durable;

    // When a completion that could not finish may be tried again by a caller of FinishCompletionAsync.
    private DateTimeOffset _nextCompletionAttempt;

    // Whether this activation counts in the silo's unfinished uploads (media.uploads.active, GET /admin/cluster).
    private bool _countedActive;

    // Whether the index row (or S3 for an ended item) may be behind the state: the index reminder stays until it is not
    // and the outbox is empty.
    private bool _indexBehind;

    // Hands the outbox to the webhook queue after the write that filled it, off the caller's turn; retried with backoff.
    private IGrainTimer? _settleTimer;
    private int _settleFailures;

    private long Id => this.GetPrimaryKeyLong();

    private MediaItemState Current => state.State ?? MediaItemState.Empty;

    private MediaItemState Durable => _durable ?? Current;

    private long MaxSize => uploadOptions.Value.MaxUploadBytes;

    // Another owner is told that the item does not exist, whatever its state.
    private bool Visible => MediaItemLifecycle.Visible(Durable, CallerContext.Owner);

    private void RequireOwner()
    {
        if (!Visible)
        {
            throw new MediaException(MediaErrorCode.NotFound, "No media item exists under this id.");
        }
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State is not null)
        {
            state.State = MediaItemLifecycle.Reactivated(state.State);
        }

        _durable = Current;
        if (Current.Status == MediaStatus.Completing)
        {
            // A completion the last activation did not finish (its silo died, or S3 failed): finish it now.
            ScheduleCompletion(TimeSpan.Zero);
        }

        if (Current.Processing is { Pending: true } p)
        {
            ScheduleProcessingCheck(p.NextAttemptAt is { } next ? next - time.GetUtcNow() : TimeSpan.Zero);
        }

        if (!Current.Outbox.IsDefaultOrEmpty)
        {
            // Events written by the last activation and not handed off (its silo died in between). Its index may be behind
            // too: the index reminder, left registered, catches it up and then goes.
            _indexBehind = true;
            ScheduleSettle(TimeSpan.Zero);
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
        if (next.ExpiresAt is { } expiresAt)
        {
            // Registered before the write that creates the item: an unfinished upload always has what expires it.
            // Reminders fire at least a minute apart; the first firing is at the expiry.
            await StoreAsync(async () =>
            {
                await this.RegisterOrUpdateReminder(ExpiryReminder, Max(expiresAt - time.GetUtcNow(), TimeSpan.Zero), TimeSpan.FromMinutes(1));
                return true;
            }, database: true);
        }

        await PersistAsync(next);
        LogCreated(logger, Id, request.FileName);
        return new CreateMediaItemResult(true, next.ExpiresAt);
    }

    public async Task<AppendGrant> BeginAppendAsync(BeginAppend request)
    {
        RequireOwner();
        var (next, grant, durable) = MediaItemLifecycle.BeginAppend(Current, Id, request, MaxSize, NewLease(), time.GetUtcNow());
        await KeepAsync(next, durable);
        return grant;
    }

    public async Task<MediaItemView?> FenceWritersAsync()
    {
        if (!Current.Exists || Current.Status == MediaStatus.Deleted || !Visible)
        {
            return null;
        }

        var (next, durable) = MediaItemLifecycle.FenceWriters(Current, NewLease(), time.GetUtcNow());
        if (!ReferenceEquals(next, Current))
        {
            await KeepAsync(next, durable);
        }

        return MediaItemLifecycle.ToView(Current, Id);
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
        var uploadId = await StoreAsync(() => store.StartMultipartAsync(Current.StorageKey!, Current.ContentType, CancellationToken.None));
        await PersistAsync(MediaItemLifecycle.OpenMultipart(Current, lease, uploadId, time.GetUtcNow()));
        return new MultipartTarget(Current.StorageKey!, uploadId);
    }

    public async Task<int> ReservePartsAsync(long lease, int count)
    {
        RequireOwner();
        var (next, first, durable) = MediaItemLifecycle.ReserveParts(Current, lease, count, time.GetUtcNow());
        await KeepAsync(next, durable);
        return first;
    }

    public async Task<AppendProgress> RecordPartAsync(RecordPart request)
    {
        RequireOwner();
        if (request.Final && request.Lease == Current.Lease && Current.Status is MediaStatus.Completing or MediaStatus.Stored)
        {
            // The same final report again (its answer was lost): the item is already past it.
            return await ProgressAsync();
        }

        var next = MediaItemLifecycle.RecordPart(Current, request, MaxSize, time.GetUtcNow());
        if (!ReferenceEquals(next, Current))
        {
            // A staged part's tail stays the item's tail until the commit.
            var consumedTail = request.ConsumesTail && !request.Staged ? Current.TailKey : null;
            await PersistWithCompletionAsync(next);
            await DeleteQuietlyAsync(consumedTail);
        }

        return await ProgressAsync();
    }

    public async Task<long> RecordTailAsync(RecordTail request)
    {
        RequireOwner();
        MediaItemState next;
        try
        {
            if (!request.TailKey.StartsWith(MediaKeys.LeasePrefix(MediaKeys.TailPrefix(Id), request.Lease), StringComparison.Ordinal))
            {
                throw new MediaException(MediaErrorCode.Inconsistent, "A tail goes under its writer's own key.");
            }

            next = MediaItemLifecycle.RecordTail(Current, request, MaxSize, time.GetUtcNow());
        }
        catch (MediaException)
        {
            await DeleteRefusedAsync(request.TailKey, MediaKeys.TailPrefix(Id));
            throw;
        }

        var replaced = request.Staged ? null : Current.TailKey;
        await PersistAsync(next);
        await DeleteQuietlyAsync(replaced);
        return Current.Offset;
    }

    public async Task<MediaItemView> RecordSinglePutAsync(RecordSinglePut request)
    {
        RequireOwner();
        if (Current.Status == MediaStatus.Stored && Current.Lease == request.Lease && Current.StorageKey == request.Key)
        {
            return MediaItemLifecycle.ToView(Current, Id);
        }

        try
        {
            MediaItemLifecycle.CheckSinglePut(Current, Id, request, time.GetUtcNow());
        }
        catch (MediaException)
        {
            await DeleteRefusedAsync(request.Key, MediaKeys.PutPrefix(Id));
            throw;
        }

        var head = await StoreAsync(() => store.HeadAfterWriteAsync(request.Key, request.Size, CancellationToken.None));
        await MarkStoredAsync(MediaItemLifecycle.MarkSinglePutStored(Current, Id, request, head?.Size, head?.ETag, time.GetUtcNow()));
        return MediaItemLifecycle.ToView(Current, Id);
    }

    public async Task<AppendProgress> CommitAsync(long lease)
    {
        RequireOwner();
        if (lease == Current.Lease && Current.Status is MediaStatus.Completing or MediaStatus.Stored)
        {
            return await ProgressAsync();
        }

        var tailBefore = Current.TailKey;
        var next = MediaItemLifecycle.Commit(Current, lease, time.GetUtcNow());
        if (!ReferenceEquals(next, Current))
        {
            await PersistWithCompletionAsync(next);
            if (tailBefore != Current.TailKey)
            {
                await DeleteQuietlyAsync(tailBefore);
            }
        }

        return await ProgressAsync();
    }

    public async Task<MediaItemView?> FinishCompletionAsync()
    {
        if (!Visible || !Current.Exists || Current.Status == MediaStatus.Deleted)
        {
            return null;
        }

        // Calls queued behind an attempt that just failed (HEADs polling while S3 hangs) do not each try again at once.
        if (Current.Status == MediaStatus.Completing && time.GetUtcNow() >= _nextCompletionAttempt)
        {
            try
            {
                await CompleteInStoreAsync();
            }
            catch (MediaException ex) when (ex.Code == MediaErrorCode.Unavailable)
            {
                // Still completing: the view says so, and the reminder tries again.
                _nextCompletionAttempt = time.GetUtcNow() + TimeSpan.FromSeconds(2);
            }
        }

        return MediaItemLifecycle.ToView(Current, Id);
    }

    // The answer to a writer's report: the durable offset, and the item once stored. A completing item is assembled
    // first; when S3 cannot do that now, the writer is told so (503) rather than given an offset that says "complete".
    private async Task<AppendProgress> ProgressAsync()
    {
        if (Current.Status == MediaStatus.Completing)
        {
            await CompleteInStoreAsync();
        }

        return new AppendProgress(Current.Offset, Current.Status == MediaStatus.Stored ? MediaItemLifecycle.ToView(Current, Id) : null);
    }

    // The write that makes the item completing comes after the reminder that finishes it: whatever happens after the
    // write (this silo dies, S3 fails), something wakes the item and completes it.
    private async Task PersistWithCompletionAsync(MediaItemState next)
    {
        if (next.Status == MediaStatus.Completing && Current.Status != MediaStatus.Completing)
        {
            await RegisterCompletionReminderAsync();
        }

        await PersistAsync(next);
    }

    private async Task RegisterCompletionReminderAsync()
    {
        var period = uploadOptions.Value.CompletionRetryPeriod;
        await StoreAsync(async () =>
        {
            await this.RegisterOrUpdateReminder(CompletionReminder, uploadOptions.Value.CompletionReminderDue, period);
            return true;
        }, database: true);
    }

    /// <summary>
    /// Assembles a completing item in S3 from the recorded parts and marks it stored once the store holds exactly that
    /// object. An assembly that fails after an earlier one succeeded (the answer was lost: NoSuchUpload, or an error on a
    /// repeated request) is settled by what the store holds. Throws <see cref="MediaErrorCode.Unavailable"/> while S3
    /// cannot finish it; the item stays completing and the reminder tries again.
    /// </summary>
    private async Task CompleteInStoreAsync()
    {
        var plan = MediaItemLifecycle.PlanCompletion(Current);
        Exception? failure = null;
        try
        {
            await store.CompleteMultipartAsync(plan.StorageKey, plan.UploadId, [.. plan.Parts.Select(p => new PartETag(p.PartNumber, p.ETag))], plan.Size, CancellationToken.None);
        }
        catch (Exception ex) when (ex is ObjectStoreUnavailableException or Amazon.S3.AmazonS3Exception)
        {
            failure = ex;
        }

        var head = await StoreAsync(() => store.HeadAfterWriteAsync(plan.StorageKey, plan.Size, CancellationToken.None));
        var check = MediaItemLifecycle.CheckAssembled(Current, head?.Size, failure is null ? null : head?.ETag);
        if (check == CompletionCheck.Assembled)
        {
            if (failure is not null)
            {
                LogCompletionSettled(logger, Id, failure.Message);
            }

            await MarkStoredAsync(MediaItemLifecycle.MarkAssembled(Current, head?.Size, head?.ETag, time.GetUtcNow(), answered: failure is null));
            return;
        }

        // NoSuchUpload with no object, or another refusal of the request itself (InvalidPart, AccessDenied, ...): nothing
        // will ever make this assembly succeed. Server errors, throttling and silence are tried again.
        if (failure is Amazon.S3.AmazonS3Exception { StatusCode: >= System.Net.HttpStatusCode.BadRequest and < System.Net.HttpStatusCode.InternalServerError } refused
            && refused.StatusCode != System.Net.HttpStatusCode.TooManyRequests && refused.StatusCode != System.Net.HttpStatusCode.RequestTimeout
            && check != CompletionCheck.Assembled && (refused.ErrorCode != "NoSuchUpload" || check == CompletionCheck.Missing))
        {
            // The store has neither the parts nor an object of them: nothing can finish this upload.
            var before = Current;
            await PersistAsync(MediaItemLifecycle.FailCompletion(Current, $"The object store refused to assemble the upload ({refused.ErrorCode}).", time.GetUtcNow()));
            LogFailed(logger, Id, Current.FailureReason ?? "");
            await ReleaseBytesAsync(before);
            await ForgetReminderAsync(CompletionReminder);
            await ForgetReminderAsync(ExpiryReminder);
            return;
        }

        LogCompletionDeferred(logger, Id, check.ToString(), failure?.Message ?? "the store does not show the object yet");
        throw MediaException.Unavailable("The object store could not assemble the upload now; it is completed later by itself.",
            failure is ObjectStoreUnavailableException unavailable ? unavailable.RetryAfter : uploadOptions.Value.CompletionReminderDue);
    }

    // Stored: processing starts in the same write (its reminder registered before it), leftovers of other writers are
    // swept, and the upload's reminders are no longer needed.
    private async Task MarkStoredAsync(MediaItemState stored)
    {
        if (stored.Processing is not null)
        {
            await StoreAsync(async () =>
            {
                await this.RegisterOrUpdateReminder(ProcessingReminder, _processing.ReminderPeriod, _processing.ReminderPeriod);
                return true;
            }, database: true);
        }

        var before = Current;
        await PersistAsync(stored);
        LogStored(logger, Id, Current.Size);
        Dispatch();
        await ForgetReminderAsync(ExpiryReminder);
        await ForgetReminderAsync(CompletionReminder);

        // The sweep (a few S3 calls) runs in a turn of its own after this answer: a slow store must not make the writer
        // that completed the item hear a timeout for an item that is stored.
        _sweepAttempts = 0;
        ScheduleSweep(before.TailKey, TimeSpan.Zero);
    }

    private void ScheduleSweep(string? tailKey, TimeSpan due)
    {
        _sweepTimer?.Dispose();
        _sweepTimer = this.RegisterGrainTimer(
            static (sweep, _) => sweep.Grain.SweepLeftoversAsync(sweep.TailKey), (Grain: this, TailKey: tailKey),
            new GrainTimerCreationOptions(due, Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    // Tails and whole-content objects of writers that were superseded or died, once the item no longer needs any. The
    // sweep runs once more a little later (a superseded writer's object may land after the item was stored), and again,
    // backing off, while S3 does not answer.
    private async Task SweepLeftoversAsync(string? tailKey)
    {
        _sweepAttempts++;
        try
        {
            if (tailKey is not null)
            {
                await store.DeleteAsync(tailKey, CancellationToken.None);
            }

            await store.DeletePrefixAsync(MediaKeys.TailPrefix(Id), CancellationToken.None);
            await store.DeletePrefixAsync(MediaKeys.PutPrefix(Id), CancellationToken.None, except: Current.StorageKey);
            if (_sweepAttempts == 1)
            {
                ScheduleSweep(null, SweepAgainAfter);
            }
        }
        catch (Exception ex) when (ex is ObjectStoreUnavailableException or Amazon.Runtime.AmazonServiceException)
        {
            LogReleaseDeferred(logger, Id);
            if (_sweepAttempts < MaxSweepAttempts)
            {
                ScheduleSweep(tailKey, TimeSpan.FromSeconds(Math.Min(60, 2 << Math.Min(_sweepAttempts, 5))));
            }
        }
    }

    // A refused writer's object (a tail or a whole-content object under its own key) is never part of the item. When S3
    // does not take the delete and the item is stored, the sweep takes it up.
    private async Task DeleteRefusedAsync(string key, string prefix)
    {
        if (key.StartsWith(prefix, StringComparison.Ordinal) && key != Current.TailKey && key != Current.StorageKey
            && key != Current.Staged?.TailKey)
        {
            try
            {
                await store.DeleteAsync(key, CancellationToken.None);
            }
            catch (Exception ex) when (ex is ObjectStoreUnavailableException or Amazon.Runtime.AmazonServiceException)
            {
                LogReleaseDeferred(logger, Id);
                if (Current.Status == MediaStatus.Stored)
                {
                    _sweepAttempts = 1;
                    ScheduleSweep(null, TimeSpan.FromSeconds(2));
                }
            }
        }
    }

    private void ScheduleCompletion(TimeSpan due)
    {
        _completionTimer?.Dispose();
        _completionTimer = this.RegisterGrainTimer(
            static (grain, _) => grain.FinishCompletionAsync(), this,
            new GrainTimerCreationOptions(due, Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    private static long NewLease() => Random.Shared.NextInt64(1, long.MaxValue);

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
            state.State = next;
            this.DelayDeactivation(uploadOptions.Value.MinRateGracePeriod + TimeSpan.FromHours(2));
        }
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
        Task.FromResult(Visible && MediaProcessingRules.FindRendition(Durable, name) is { } r
            ? new StoredContent(r.StorageKey, r.Size, r.ContentType, $"\"{r.Sha256}\"", Durable.Processing!.FinishedAt ?? Durable.UpdatedAt, r.Name)
            : null);

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == IndexReminder)
        {
            await SyncIndexAsync();
            await SettleAsync();
            return;
        }

        if (reminderName == CompletionReminder)
        {
            if (Current.Status == MediaStatus.Completing)
            {
                await FinishCompletionAsync();
            }
            else
            {
                await ForgetReminderAsync(CompletionReminder);
            }

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
        Task.FromResult(Durable.Exists && Durable.Status != MediaStatus.Deleted && Visible ? MediaItemLifecycle.ToView(Durable, Id) : null);

    public Task DrainAsync()
    {
        this.DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public async Task<MediaItemView?> GetMetadataFromStorageAsync()
    {
        RequireOwner();
        try
        {
            await state.ReadStateAsync();
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
        state.State = MediaItemLifecycle.Reactivated(state.State);
        _durable = Current;
        return await GetMetadataAsync();
    }

    public Task<StoredContent?> GetStoredContentAsync() =>
        Task.FromResult(Visible && Durable is { Status: MediaStatus.Stored, StorageKey: { } key, StoredAt: { } storedAt } stored && MediaItemLifecycle.ContentETag(stored) is { } etag
            ? new StoredContent(key, stored.Size, MediaProcessingRules.ServedType(stored), etag, storedAt, stored.FileName)
            : null);

    // The item is already failed, terminated or expired when its bytes are released: a crash in between leaves its
    // objects for the index reminder, which deletes them with the index row (retried until done; see SyncIndexAsync).
    // What only the state before knew, the open multipart upload, is aborted here, best effort.
    private async Task ReleaseBytesAsync(MediaItemState before)
    {
        if (before is { StorageKey: { } key, MultipartUploadId: { } uploadId })
        {
            await store.TryAbortMultipartAsync(key, uploadId, CancellationToken.None);
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
        await store.DeletePrefixAsync(MediaKeys.PutPrefix(Id), CancellationToken.None);
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
                if (Current.Status is MediaStatus.Failed or MediaStatus.Expired or MediaStatus.Terminated)
                {
                    // An upload that ended unfinished keeps no object: its release is retried with the index until done.
                    await DeleteObjectsAsync(Current);
                }

                await index.UpsertAsync(_serviceId, MediaIndexing.Entry(Current, Id), CancellationToken.None);
            }

            _indexBehind = false;
            if (Current.Outbox.IsDefaultOrEmpty)
            {
                await ForgetReminderAsync(IndexReminder);
            }
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
        catch (Exception ex) when (ex is ObjectStoreUnavailableException or Amazon.Runtime.AmazonServiceException)
        {
            LogReleaseDeferred(logger, Id);
        }
    }

    // A reminder call that failed in PostgreSQL on another silo comes back as a CodecNotFoundException (the Npgsql
    // exception cannot cross the wire): it means the same as the Npgsql one, the database did not answer.
    private static bool DatabaseDidNotAnswer(Exception ex) =>
        Resilience.IsPostgresUnavailable(ex)
        || ex is Orleans.Serialization.CodecNotFoundException codec && codec.Message.Contains("Npgsql", StringComparison.Ordinal);

    // Best effort: a reminder left behind (the database did not answer) finds nothing to do when it fires and forgets
    // itself then.
    private async Task ForgetReminderAsync(string name)
    {
        try
        {
            var reminder = await this.GetReminder(name);
            if (reminder is not null)
            {
                await this.UnregisterReminder(reminder);
            }
        }
        catch (Exception ex) when (DatabaseDidNotAnswer(ex))
        {
            LogDatabaseUnavailable(logger, Id, ex.GetType().Name, ex.Message);
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

    // Every durable change goes through here: its events are born in the same write (the outbox), the index reminder is
    // registered before it when the index or the outbox has something to catch up, and both are brought up to date after.
    private async Task PersistAsync(MediaItemState next)
    {
        var events = MediaEventRules.For(Current, next, Id, Current.Version + 1, time.GetUtcNow());
        if (Current.Outbox.Length + events.Length > MediaEventRules.MaxOutbox)
        {
            // The queue has not taken the outbox for a while (PostgreSQL, or a subscription's silo, did not answer):
            // try once more now, and refuse the change rather than make it without its events.
            await SettleAsync();
            if (Current.Outbox.Length + events.Length > MediaEventRules.MaxOutbox)
            {
                throw MediaException.Unavailable("Events of earlier changes are still being handed to webhooks; nothing was changed. Retry later.",
                    _postgresRetryAfter);
            }
        }

        next = next with { Outbox = MediaEventRules.Carry(Current.Outbox, events) };
        var indexed = MediaIndexing.Changes(Current, next);
        if (indexed || !events.IsEmpty)
        {
            await StoreAsync(async () =>
            {
                await this.RegisterOrUpdateReminder(IndexReminder, _metadata.IndexRetryPeriod, _metadata.IndexRetryPeriod);
                return true;
            }, database: true);
        }

        await WriteAsync(next);
        foreach (var e in events)
        {
            metrics.WebhookEventBorn(e.Type);
            LogEventBorn(logger, Id, e.ItemVersion, e.Type, e.EventId, Current.Outbox.Length);
        }

        if (indexed)
        {
            _indexBehind = true;
            await SyncIndexAsync();
        }

        if (!Current.Outbox.IsDefaultOrEmpty)
        {
            ScheduleSettle(TimeSpan.Zero);
        }
    }

    private void ScheduleSettle(TimeSpan due)
    {
        _settleTimer?.Dispose();
        _settleTimer = this.RegisterGrainTimer(static (grain, _) => grain.SettleAsync(), this,
            new GrainTimerCreationOptions(due, Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    // Hands the outbox to the webhook queue, wakes the subscriptions it reached, then trims the outbox: a crash between
    // the hand-off and the trim hands the same events off again, which queues nothing twice (the queue's rows are unique
    // by subscription and event). Once the outbox is empty and the index is up to date, the index reminder goes.
    private async Task SettleAsync()
    {
        var outbox = Current.Outbox;
        if (outbox.IsDefaultOrEmpty)
        {
            return;
        }

        try
        {
            var subscriptions = await webhooks.HandOffAsync(_serviceId, Current.Owner ?? string.Empty, Id,
                [.. outbox.Select(e => new DataPlane.Webhooks.OutboxEvent(e.EventId, e.Type, e.ItemVersion, e.OccurredAt, e.Body))], CancellationToken.None);
            var wake = webhookOptions.Value.WakeTimeout;
            await Task.WhenAll(subscriptions.Select(s => GrainFactory.GetGrain<IWebhookEndpointGrain>(s).WakeAsync().WaitAsync(wake)));
            var handed = outbox.Select(e => e.EventId).ToHashSet(StringComparer.Ordinal);
            var trimmed = Current with { Outbox = MediaEventRules.Trim(Current.Outbox, handed) };
            if (subscriptions.Count == 0)
            {
                // No subscription takes these events (the owner has none, or none for these types): trimmed in memory only,
                // saving a write. The stored copy keeps them until the next write; handing them off again after a crash
                // queues nothing, since a subscription made later takes only events that happened after it was made.
                state.State = trimmed;
            }
            else
            {
                await WriteAsync(trimmed, bumpVersion: false);
            }
            var now = time.GetUtcNow();
            foreach (var e in outbox)
            {
                metrics.WebhookEventHandedOff(now - e.OccurredAt);
            }

            if (logger.IsEnabled(LogLevel.Debug))
            {
                LogHandedOff(logger, Id, outbox.Length, string.Join(",", outbox.Select(e => e.EventId)), subscriptions.Count);
            }
            _settleFailures = 0;
            if (Current.Outbox.IsDefaultOrEmpty && !_indexBehind)
            {
                await ForgetReminderAsync(IndexReminder);
            }
        }
        catch (Exception ex)
        {
            // The events stay in the outbox; the index reminder backs this timer up.
            _settleFailures++;
            LogHandOffDeferred(logger, Id, outbox.Length, ex.Message);
            ScheduleSettle(TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(_settleFailures - 1, 5))));
        }
    }

    // Writes the state. A change bumps the version (the metadata ETag); housekeeping (the outbox's trim) does not, so that
    // it never turns a client's If-Match into a 412.
    private async Task WriteAsync(MediaItemState next, bool bumpVersion = true)
    {
        var previous = state.State;
        state.State = bumpVersion ? next with { Version = Current.Version + 1 } : next;
        try
        {
            // Retried (conditional on the ETag, so a repeat is refused rather than applied twice) and counted by the
            // breaker of this item's database, in the storage router (Storage/ShardedGrainStorage).
            await state.WriteStateAsync();
        }
        catch (Exception ex) when (Refusal(ex) is { } refused)
        {
            // The storage router refused it (the item's shard is being moved): nothing was written.
            state.State = previous;
            throw refused;
        }
        catch (Exception ex) when (Resilience.IsPostgresUnavailable(ex))
        {
            state.State = previous;
            LogDatabaseUnavailable(logger, Id, ex.GetType().Name, ex.Message);
            throw MediaException.Unavailable("The database did not answer; nothing was changed. Retry later.", _postgresRetryAfter);
        }
        catch
        {
            state.State = previous;
            throw;
        }

        _durable = Current;
        CountTransition(previous ?? MediaItemState.Empty, Current);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

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

    // An S3 (or reminder table) call made by the grain: when the store does not answer, the caller is told to retry
    // (503 at the edge) instead of being handed the store's exception.
    private async Task<T> StoreAsync<T>(Func<Task<T>> call, bool database = false)
    {
        try
        {
            return await call();
        }
        catch (ObjectStoreUnavailableException ex)
        {
            throw MediaException.Unavailable("The object store did not answer. Retry later.", ex.RetryAfter);
        }
        catch (Amazon.Runtime.AmazonServiceException ex)
        {
            // A refusal of the store (its exceptions cannot cross a grain call): unavailable, as far as the client can tell.
            LogCompletionDeferred(logger, Id, ex.ErrorCode ?? ex.GetType().Name, ex.Message);
            throw MediaException.Unavailable("The object store refused the request. Retry later.", uploadOptions.Value.CompletionReminderDue);
        }
        catch (Exception ex) when (database && DatabaseDidNotAnswer(ex))
        {
            LogDatabaseUnavailable(logger, Id, ex.GetType().Name, ex.Message);
            throw MediaException.Unavailable("The database did not answer; nothing was changed. Retry later.", _postgresRetryAfter);
        }
    }

    [LoggerMessage(EventId = LogEvents.MediaItem + 17, Level = LogLevel.Debug, Message = "Media item {MediaId} v{Version}: event {Type} {EventId} born; {Pending} in the outbox")]
    private static partial void LogEventBorn(ILogger logger, long mediaId, long version, string type, string eventId, int pending);

    [LoggerMessage(EventId = LogEvents.MediaItem + 18, Level = LogLevel.Debug, Message = "Media item {MediaId}: {Count} events ({EventIds}) handed off to {Subscriptions} subscriptions")]
    private static partial void LogHandedOff(ILogger logger, long mediaId, int count, string eventIds, int subscriptions);

    [LoggerMessage(EventId = LogEvents.MediaItem + 16, Level = LogLevel.Warning, Message = "Media item {MediaId}: {Count} events not handed to webhooks now, retried later: {Reason}")]
    private static partial void LogHandOffDeferred(ILogger logger, long mediaId, int count, string reason);

    [LoggerMessage(EventId = LogEvents.MediaItem + 13, Level = LogLevel.Information, Message = "Media item {MediaId}: an assembly that failed ({Reason}) had already happened; settled by the stored object")]
    private static partial void LogCompletionSettled(ILogger logger, long mediaId, string reason);

    [LoggerMessage(EventId = LogEvents.MediaItem + 14, Level = LogLevel.Warning, Message = "Media item {MediaId}: not assembled now ({Check}: {Reason}); it stays completing and is finished later")]
    private static partial void LogCompletionDeferred(ILogger logger, long mediaId, string check, string reason);

    [LoggerMessage(EventId = LogEvents.MediaItem + 15, Level = LogLevel.Warning, Message = "Media item {MediaId}: the database did not answer ({Error}: {Message}); answered unavailable")]
    private static partial void LogDatabaseUnavailable(ILogger logger, long mediaId, string error, string message);

    [LoggerMessage(EventId = LogEvents.MediaItem + 11, Level = LogLevel.Information, Message = "Media item {MediaId} deleted")]
    private static partial void LogDeleted(ILogger logger, long mediaId);

    [LoggerMessage(EventId = LogEvents.MediaItem + 12, Level = LogLevel.Warning, Message = "Media item {MediaId}: index (or storage) not brought up to date now, retried later: {Reason}")]
    private static partial void LogIndexDeferred(ILogger logger, long mediaId, string reason);

    [LoggerMessage(EventId = LogEvents.MediaItem + 1, Level = LogLevel.Information, Message = "Media item {MediaId} created (file name {FileName})")]
    private static partial void LogCreated(ILogger logger, long mediaId, string? fileName);

    [LoggerMessage(EventId = LogEvents.MediaItem + 2, Level = LogLevel.Information, Message = "Media item {MediaId} stored ({Size} bytes)")]
    private static partial void LogStored(ILogger logger, long mediaId, long size);

    [LoggerMessage(EventId = LogEvents.MediaItem + 3, Level = LogLevel.Warning, Message = "Media item {MediaId} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, long mediaId, string reason);

    [LoggerMessage(EventId = LogEvents.MediaItem + 4, Level = LogLevel.Warning, Message = "Media item {MediaId}: partial bytes could not be released now")]
    private static partial void LogReleaseDeferred(ILogger logger, long mediaId);

    [LoggerMessage(EventId = LogEvents.MediaItem + 5, Level = LogLevel.Information, Message = "Media item {MediaId} terminated by the client")]
    private static partial void LogTerminated(ILogger logger, long mediaId);

    [LoggerMessage(EventId = LogEvents.MediaItem + 6, Level = LogLevel.Information, Message = "Media item {MediaId} expired unfinished")]
    private static partial void LogExpired(ILogger logger, long mediaId);

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
