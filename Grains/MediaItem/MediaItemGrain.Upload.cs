using MediaService.DataPlane;
using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.Logging;

namespace MediaService.Grains;

// The upload facet (IMediaUpload): creation, appends under a lease, what writers recorded, completion in S3, and the
// ends of an upload that does not finish.
public sealed partial class MediaItemGrain
{
    /// <inheritdoc />
    public async Task<CreateMediaItemResult> CreateAsync(CreateMediaItem request)
    {
        if (Current.Exists)
        {
            return new CreateMediaItemResult(false);
        }

        var next = MediaItemLifecycle.Create(Current, Id, request, MaxSize, _time.GetUtcNow(), CallerContext.Owner);
        if (next.ExpiresAt is { } expiresAt)
        {
            // Registered before the write that creates the item: an unfinished upload always has what expires it.
            // Reminders fire at least a minute apart; the first firing is at the expiry.
            await RegisterReminderAsync(ExpiryReminder, Max(expiresAt - _time.GetUtcNow(), TimeSpan.Zero), TimeSpan.FromMinutes(1));
        }

        await PersistAsync(next);
        LogCreated(_logger, Id, request.FileName);
        return new CreateMediaItemResult(true, next.ExpiresAt);
    }

    /// <inheritdoc />
    public async Task<AppendGrant> BeginAppendAsync(BeginAppend request)
    {
        RequireOwner();
        var (next, grant, durable) = MediaItemLifecycle.BeginAppend(Current, Id, request, MaxSize, NewLease(), _time.GetUtcNow());
        await KeepAsync(next, durable);
        return grant;
    }

    /// <inheritdoc />
    public async Task<MediaItemView?> FenceWritersAsync()
    {
        if (!Current.Exists || Current.Status == MediaStatus.Deleted || !Visible)
        {
            return null;
        }

        var (next, durable) = MediaItemLifecycle.FenceWriters(Current, NewLease(), _time.GetUtcNow());
        if (!ReferenceEquals(next, Current))
        {
            await KeepAsync(next, durable);
        }

        return MediaItemLifecycle.ToView(Current, Id);
    }

    /// <inheritdoc />
    public async Task<MultipartTarget> OpenMultipartAsync(long lease)
    {
        RequireOwner();
        if (Current is { MultipartUploadId: { } open, Status: MediaStatus.Receiving } && Current.Lease == lease)
        {
            return new MultipartTarget(Current.StorageKey!, open);
        }

        // Validate before touching S3, so a refused writer opens nothing.
        MediaItemLifecycle.CheckCanOpenMultipart(Current, lease, _time.GetUtcNow());
        var uploadId = await _custody.OpenMultipartAsync(Current.StorageKey!, Current.ContentType);
        await PersistAsync(MediaItemLifecycle.OpenMultipart(Current, lease, uploadId, _time.GetUtcNow()));
        return new MultipartTarget(Current.StorageKey!, uploadId);
    }

    /// <inheritdoc />
    public async Task<int> ReservePartsAsync(long lease, int count)
    {
        RequireOwner();
        var (next, first, durable) = MediaItemLifecycle.ReserveParts(Current, lease, count, _time.GetUtcNow());
        await KeepAsync(next, durable);
        return first;
    }

    /// <inheritdoc />
    public async Task<AppendProgress> RecordPartAsync(RecordPart request)
    {
        RequireOwner();
        if (request.Final && request.Lease == Current.Lease && Current.Status is MediaStatus.Completing or MediaStatus.Stored)
        {
            // The same final report again (its answer was lost): the item is already past it.
            return await ProgressAsync();
        }

        var next = MediaItemLifecycle.RecordPart(Current, request, MaxSize, _time.GetUtcNow());
        if (!ReferenceEquals(next, Current))
        {
            // A staged part's tail stays the item's tail until the commit.
            var consumedTail = request.ConsumesTail && !request.Staged ? Current.TailKey : null;
            await PersistWithCompletionAsync(next);
            await _custody.DeleteQuietlyAsync(consumedTail);
        }

        return await ProgressAsync();
    }

    /// <inheritdoc />
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

            next = MediaItemLifecycle.RecordTail(Current, request, MaxSize, _time.GetUtcNow());
        }
        catch (MediaException)
        {
            await DeleteRefusedAsync(request.TailKey, MediaKeys.TailPrefix(Id));
            throw;
        }

        var replaced = request.Staged ? null : Current.TailKey;
        await PersistAsync(next);
        await _custody.DeleteQuietlyAsync(replaced);
        return Current.Offset;
    }

    /// <inheritdoc />
    public async Task<MediaItemView> RecordSinglePutAsync(RecordSinglePut request)
    {
        RequireOwner();
        if (Current.Status == MediaStatus.Stored && Current.Lease == request.Lease && Current.StorageKey == request.Key)
        {
            return MediaItemLifecycle.ToView(Current, Id);
        }

        try
        {
            MediaItemLifecycle.CheckSinglePut(Current, Id, request, _time.GetUtcNow());
        }
        catch (MediaException)
        {
            await DeleteRefusedAsync(request.Key, MediaKeys.PutPrefix(Id));
            throw;
        }

        var head = await _custody.HeadAsync(request.Key, request.Size);
        await MarkStoredAsync(MediaItemLifecycle.MarkSinglePutStored(Current, Id, request, head?.Size, head?.ETag, _time.GetUtcNow()));
        return MediaItemLifecycle.ToView(Current, Id);
    }

    /// <inheritdoc />
    public async Task<AppendProgress> CommitAsync(long lease)
    {
        RequireOwner();
        if (lease == Current.Lease && Current.Status is MediaStatus.Completing or MediaStatus.Stored)
        {
            return await ProgressAsync();
        }

        var tailBefore = Current.TailKey;
        var next = MediaItemLifecycle.Commit(Current, lease, _time.GetUtcNow());
        if (!ReferenceEquals(next, Current))
        {
            await PersistWithCompletionAsync(next);
            if (tailBefore != Current.TailKey)
            {
                await _custody.DeleteQuietlyAsync(tailBefore);
            }
        }

        return await ProgressAsync();
    }

    /// <inheritdoc />
    public async Task<MediaItemView?> FinishCompletionAsync()
    {
        if (!Visible || !Current.Exists || Current.Status == MediaStatus.Deleted)
        {
            return null;
        }

        // Calls queued behind an attempt that just failed (HEADs polling while S3 hangs) do not each try again at once.
        if (Current.Status == MediaStatus.Completing && _time.GetUtcNow() >= _nextCompletionAttempt)
        {
            try
            {
                await CompleteInStoreAsync();
            }
            catch (MediaException ex) when (ex.Code == MediaErrorCode.Unavailable)
            {
                // Still completing: the view says so, and the reminder tries again.
                _nextCompletionAttempt = _time.GetUtcNow() + TimeSpan.FromSeconds(2);
            }
        }

        return MediaItemLifecycle.ToView(Current, Id);
    }

    /// <inheritdoc />
    public async Task AbandonAsync(long lease, string reason)
    {
        RequireOwner();
        var before = Current;
        await PersistAsync(MediaItemLifecycle.Fail(before, lease, reason, _time.GetUtcNow()));
        LogFailed(_logger, Id, reason);
        await _custody.ReleaseAsync(before);
        await ForgetReminderAsync(ExpiryReminder);
    }

    /// <inheritdoc />
    public async Task TerminateAsync()
    {
        RequireOwner();
        var before = Current;
        await PersistAsync(MediaItemLifecycle.Terminate(before, _time.GetUtcNow()));
        LogTerminated(_logger, Id);
        await _custody.ReleaseAsync(before);
        await ForgetReminderAsync(ExpiryReminder);
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
            await RegisterReminderAsync(CompletionReminder, _uploads.CompletionReminderDue, _uploads.CompletionRetryPeriod);
        }

        await PersistAsync(next);
    }

    // Marks a completing item stored once the store holds exactly its object (ObjectCustody.AssembleAsync), or fails it
    // when the store refused the assembly for good. Throws Unavailable while S3 cannot finish it; the item stays
    // completing and the reminder tries again.
    private async Task CompleteInStoreAsync()
    {
        var assembly = await _custody.AssembleAsync(Current);
        if (assembly.Outcome == AssemblyOutcome.Assembled)
        {
            await MarkStoredAsync(MediaItemLifecycle.MarkAssembled(Current, assembly.Head?.Size, assembly.Head?.ETag, _time.GetUtcNow(),
                answered: assembly.Failure is null));
            return;
        }

        // The store has neither the parts nor an object of them: nothing can finish this upload.
        var before = Current;
        await PersistAsync(MediaItemLifecycle.FailCompletion(Current, $"The object store refused to assemble the upload ({assembly.RefusalCode}).", _time.GetUtcNow()));
        LogFailed(_logger, Id, Current.FailureReason ?? "");
        await _custody.ReleaseAsync(before);
        await ForgetReminderAsync(CompletionReminder);
        await ForgetReminderAsync(ExpiryReminder);
    }

    // Stored: processing starts in the same write (its reminder registered before it), leftovers of other writers are
    // swept, and the upload's reminders are no longer needed.
    private async Task MarkStoredAsync(MediaItemState stored)
    {
        if (stored.Processing is not null)
        {
            await RegisterReminderAsync(ProcessingReminder, _processing.ReminderPeriod, _processing.ReminderPeriod);
        }

        var before = Current;
        await PersistAsync(stored);
        LogStored(_logger, Id, Current.Size);
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
        if (await _custody.SweepAsync(tailKey, Current.StorageKey))
        {
            if (_sweepAttempts == 1)
            {
                ScheduleSweep(null, SweepAgainAfter);
            }
        }
        else if (_sweepAttempts < MaxSweepAttempts)
        {
            ScheduleSweep(tailKey, TimeSpan.FromSeconds(Math.Min(60, 2 << Math.Min(_sweepAttempts, 5))));
        }
    }

    // A refused writer's object is never part of the item. When S3 does not take the delete and the item is stored, the
    // sweep takes it up.
    private async Task DeleteRefusedAsync(string key, string prefix)
    {
        if (!await _custody.DeleteRefusedAsync(key, prefix, Current) && Current.Status == MediaStatus.Stored)
        {
            _sweepAttempts = 1;
            ScheduleSweep(null, TimeSpan.FromSeconds(2));
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

    [LoggerMessage(EventId = LogEvents.MediaItem + 1, Level = LogLevel.Information, Message = "Media item {MediaId} created (file name {FileName})")]
    private static partial void LogCreated(ILogger logger, long mediaId, string? fileName);

    [LoggerMessage(EventId = LogEvents.MediaItem + 2, Level = LogLevel.Information, Message = "Media item {MediaId} stored ({Size} bytes)")]
    private static partial void LogStored(ILogger logger, long mediaId, long size);

    [LoggerMessage(EventId = LogEvents.MediaItem + 3, Level = LogLevel.Warning, Message = "Media item {MediaId} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, long mediaId, string reason);

    [LoggerMessage(EventId = LogEvents.MediaItem + 5, Level = LogLevel.Information, Message = "Media item {MediaId} terminated by the client")]
    private static partial void LogTerminated(ILogger logger, long mediaId);
}
