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
/// </summary>
public sealed partial class UploadGrain(
    [PersistentState(StorageNames.UploadState, StorageNames.Media)] IPersistentState<MediaItemState> state,
    MediaObjectStore store,
    IOptions<UploadOptions> uploadOptions,
    ResiliencePipelineProvider<string> pipelines,
    TimeProvider time,
    ILogger<UploadGrain> logger) : Grain, IUploadGrain
{
    private readonly ResiliencePipeline _postgres = pipelines.GetPipeline(Resilience.Postgres);

    private long Id => this.GetPrimaryKeyLong();

    private MediaItemState Current => state.State ?? MediaItemState.Empty;

    public async Task<CreateMediaItemResult> CreateAsync(CreateMediaItem request)
    {
        if (Current.Exists)
        {
            return new CreateMediaItemResult(false, 0, null);
        }

        var next = MediaItemLifecycle.Create(Current, Id, request, time.GetUtcNow());
        await PersistAsync(next);
        LogCreated(logger, Id, request.FileName);
        return new CreateMediaItemResult(true, next.Lease, next.StorageKey);
    }

    public async Task<MultipartTarget> OpenMultipartAsync(long lease)
    {
        if (Current is { MultipartUploadId: { } open, Status: MediaStatus.Receiving } && Current.Lease == lease)
        {
            return new MultipartTarget(Current.StorageKey!, open);
        }

        // Validate before touching S3, so a refused writer opens nothing.
        MediaItemLifecycle.CheckCanOpenMultipart(Current, lease);
        var uploadId = await store.StartMultipartAsync(Current.StorageKey!, Current.ContentType, CancellationToken.None);
        await PersistAsync(MediaItemLifecycle.OpenMultipart(Current, lease, uploadId, time.GetUtcNow()));
        return new MultipartTarget(Current.StorageKey!, uploadId);
    }

    public Task RecordPartAsync(long lease, UploadedPart part) =>
        PersistAsync(MediaItemLifecycle.RecordPart(Current, lease, part, uploadOptions.Value.MaxUploadBytes, time.GetUtcNow()));

    public Task<CompletionPlan> PrepareCompletionAsync(long lease, long size) =>
        Task.FromResult(MediaItemLifecycle.PlanCompletion(Current, lease, size));

    public async Task<MediaItemView> ConfirmStoredAsync(CompleteUpload request)
    {
        if (Current.Status == MediaStatus.Stored && Current.Lease == request.Lease && Current.Size == request.Size)
        {
            return MediaItemLifecycle.ToView(Current, Id);
        }

        MediaItemLifecycle.CheckCompletion(Current, request);
        var storedSize = await store.GetSizeAsync(Current.StorageKey!, CancellationToken.None);
        await PersistAsync(MediaItemLifecycle.MarkStored(Current, request, storedSize, time.GetUtcNow()));
        LogStored(logger, Id, Current.Size);
        return MediaItemLifecycle.ToView(Current, Id);
    }

    public async Task AbandonAsync(long lease, string reason)
    {
        var before = Current;
        await PersistAsync(MediaItemLifecycle.Fail(before, lease, reason, time.GetUtcNow()));
        LogFailed(logger, Id, reason);

        // The item is failed before its bytes are released: a crash in between leaves garbage in S3, never
        // an item that claims bytes that are gone. Release is best effort; the store may be what failed.
        try
        {
            if (before.MultipartUploadId is { } uploadId)
            {
                await store.TryAbortMultipartAsync(before.StorageKey!, uploadId, CancellationToken.None);
            }

            await store.DeleteAsync(before.StorageKey!, CancellationToken.None);
        }
        catch (ObjectStoreUnavailableException)
        {
            LogReleaseDeferred(logger, Id);
        }
    }

    public Task<MediaItemView?> GetMetadataAsync() =>
        Task.FromResult(Current.Exists ? MediaItemLifecycle.ToView(Current, Id) : null);

    public Task<StoredContent?> GetStoredContentAsync() =>
        Task.FromResult(Current is { Status: MediaStatus.Stored, StorageKey: { } key, Sha256: { } sha, StoredAt: { } storedAt }
            ? new StoredContent(key, Current.Size, Current.ContentType, sha, storedAt)
            : null);

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

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Media item {MediaId} created (file name {FileName})")]
    private static partial void LogCreated(ILogger logger, long mediaId, string? fileName);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Media item {MediaId} stored ({Size} bytes)")]
    private static partial void LogStored(ILogger logger, long mediaId, long size);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Media item {MediaId} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, long mediaId, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Media item {MediaId}: partial bytes could not be released now")]
    private static partial void LogReleaseDeferred(ILogger logger, long mediaId);
}
