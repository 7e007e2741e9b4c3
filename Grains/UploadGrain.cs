using MediaService.DataPlane;
using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;

namespace MediaService.Grains;

/// <summary>
/// One media item. Non-reentrant: every state change is one turn that runs the domain rule, then
/// persists the result before answering, so an answer never reports a state PostgreSQL does not hold.
/// Unfinished resumable uploads carry a durable reminder that expires them, surviving silo restarts.
/// </summary>
public sealed partial class UploadGrain(
    [PersistentState(StorageNames.UploadState, StorageNames.Media)] IPersistentState<MediaItemState> state,
    MediaObjectStore store,
    IOptions<UploadOptions> uploadOptions,
    ResiliencePipelineProvider<string> pipelines,
    TimeProvider time,
    ILogger<UploadGrain> logger) : Grain, IUploadGrain, IRemindable
{
    private const string ExpiryReminder = "expire";
    private readonly ResiliencePipeline _postgres = pipelines.GetPipeline(Resilience.Postgres);

    private long Id => this.GetPrimaryKeyLong();

    private MediaItemState Current => state.State ?? MediaItemState.Empty;

    private long MaxSize => uploadOptions.Value.MaxUploadBytes;

    public async Task<CreateMediaItemResult> CreateAsync(CreateMediaItem request)
    {
        if (Current.Exists)
        {
            return new CreateMediaItemResult(false);
        }

        var next = MediaItemLifecycle.Create(Current, Id, request, MaxSize, time.GetUtcNow());
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
        var (next, grant) = MediaItemLifecycle.BeginAppend(Current, request, MaxSize, time.GetUtcNow());
        await PersistAsync(next);
        return grant;
    }

    public async Task<MultipartTarget> OpenMultipartAsync(long lease)
    {
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
        var (next, first) = MediaItemLifecycle.ReserveParts(Current, lease, count, time.GetUtcNow());
        await PersistAsync(next);
        return first;
    }

    public async Task RecordPartAsync(RecordPart request)
    {
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
        var replaced = request.Staged ? null : Current.TailKey;
        await PersistAsync(MediaItemLifecycle.RecordTail(Current, request, MaxSize, time.GetUtcNow()));
        return replaced;
    }

    public async Task<long> CommitAsync(long lease)
    {
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

    public Task<CompletionPlan> PrepareCompletionAsync(long lease, long size) =>
        Task.FromResult(MediaItemLifecycle.PlanCompletion(Current, lease, size, time.GetUtcNow()));

    public async Task<MediaItemView> ConfirmStoredAsync(CompleteUpload request)
    {
        if (Current.Status == MediaStatus.Stored && Current.Lease == request.Lease && Current.Size == request.Size)
        {
            return MediaItemLifecycle.ToView(Current, Id);
        }

        MediaItemLifecycle.CheckCompletion(Current, request, time.GetUtcNow());
        var tail = Current.TailKey;
        var head = await store.HeadAsync(Current.StorageKey!, CancellationToken.None);
        await PersistAsync(MediaItemLifecycle.MarkStored(Current, request, head?.Size, head?.ETag, time.GetUtcNow()));
        LogStored(logger, Id, Current.Size);
        await DeleteQuietlyAsync(tail);
        await ForgetExpiryAsync();
        return MediaItemLifecycle.ToView(Current, Id);
    }

    public async Task AbandonAsync(long lease, string reason)
    {
        var before = Current;
        await PersistAsync(MediaItemLifecycle.Fail(before, lease, reason, time.GetUtcNow()));
        LogFailed(logger, Id, reason);
        await ReleaseBytesAsync(before);
        await ForgetExpiryAsync();
    }

    public async Task TerminateAsync()
    {
        var before = Current;
        await PersistAsync(MediaItemLifecycle.Terminate(before, time.GetUtcNow()));
        LogTerminated(logger, Id);
        await ReleaseBytesAsync(before);
        await ForgetExpiryAsync();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
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
            await ReleaseBytesAsync(before);
        }

        if (Current.Status != MediaStatus.Receiving)
        {
            await ForgetExpiryAsync();
        }
    }

    public Task<MediaItemView?> GetMetadataAsync() =>
        Task.FromResult(Current.Exists ? MediaItemLifecycle.ToView(Current, Id) : null);

    public Task<StoredContent?> GetStoredContentAsync() =>
        Task.FromResult(Current is { Status: MediaStatus.Stored, StorageKey: { } key, StoredAt: { } storedAt } && MediaItemLifecycle.ContentETag(Current) is { } etag
            ? new StoredContent(key, Current.Size, Current.ContentType, etag, storedAt, Current.FileName)
            : null);

    // The item is already failed, terminated or expired when its bytes are released: a crash in between
    // leaves garbage in S3, never an item that claims bytes that are gone. Release is best effort.
    private async Task ReleaseBytesAsync(MediaItemState before)
    {
        try
        {
            if (before.MultipartUploadId is { } uploadId)
            {
                await store.TryAbortMultipartAsync(before.StorageKey!, uploadId, CancellationToken.None);
            }

            await store.DeletePrefixAsync(MediaKeys.TailPrefix(Id), CancellationToken.None);
            await store.DeleteAsync(before.StorageKey!, CancellationToken.None);
        }
        catch (ObjectStoreUnavailableException)
        {
            LogReleaseDeferred(logger, Id);
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

    private async Task ForgetExpiryAsync()
    {
        var reminder = await this.GetReminder(ExpiryReminder);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private async Task PersistAsync(MediaItemState next)
    {
        var previous = state.State;
        state.State = next;
        try
        {
            var context = ResilienceContextPool.Shared.Get();
            // Writes are conditional on the ETag Orleans holds: a repeated write after an ambiguous failure
            // is refused rather than applied twice, so retrying is safe.
            context.Properties.Set(Resilience.Idempotent, true);
            try
            {
                await _postgres.ExecuteAsync(static async (_, s) => await s.WriteStateAsync(), context, state);
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }
        catch
        {
            state.State = previous;
            throw;
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

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
}
