using MediaService.DataPlane;
using MediaService.DataPlane.Objects;
using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.Logging;

namespace MediaService.Grains;

/// <summary>How an assembly in S3 of a completing item ended.</summary>
internal enum AssemblyOutcome
{
    /// <summary>The store holds exactly the object the recorded parts make: the item may be marked stored.</summary>
    Assembled,

    /// <summary>The store refused the assembly for good and holds no object of it: the item fails.</summary>
    Refused,
}

/// <summary>What an assembly attempt found: its outcome, the object's head, and the store's refusal when there was one.</summary>
internal sealed record Assembly(AssemblyOutcome Outcome, ObjectHead? Head, Exception? Failure, string? RefusalCode);

/// <summary>
/// S3 custody of one media item: every call the item's grain makes to S3 (open and assemble the multipart upload,
/// confirm a writer's object, delete what is no longer the item's) goes through here, over <see cref="IObjectLifecycle"/>.
/// It decides how a store failure reads to the item (unavailable, retried later, or a refusal that ends the upload), never
/// what the item's state becomes: the grain records that.
/// </summary>
internal sealed partial class ObjectCustody(long id, IObjectLifecycle store, UploadOptions options, ILogger logger)
{
    /// <summary>Opens the item's multipart upload; S3 not answering is <see cref="MediaErrorCode.Unavailable"/>.</summary>
    public Task<string> OpenMultipartAsync(string key, string contentType) =>
        GuardAsync(() => store.StartMultipartAsync(key, contentType, CancellationToken.None));

    /// <summary>The head of an object a writer reports it wrote with <paramref name="size"/> bytes.</summary>
    public Task<ObjectHead?> HeadAsync(string key, long size) =>
        GuardAsync(() => store.HeadAfterWriteAsync(key, size, CancellationToken.None));

    /// <summary>
    /// Assembles a completing item from its recorded parts and checks what the store then holds. An assembly that fails
    /// after an earlier one succeeded (its answer was lost: NoSuchUpload, or an error on a repeated request) is settled by
    /// the object. Throws <see cref="MediaErrorCode.Unavailable"/> while S3 cannot finish it.
    /// </summary>
    public async Task<Assembly> AssembleAsync(MediaItemState current)
    {
        var plan = MediaItemLifecycle.PlanCompletion(current);
        Exception? failure = null;
        try
        {
            await store.CompleteMultipartAsync(plan.StorageKey, plan.UploadId, [.. plan.Parts.Select(p => new PartETag(p.PartNumber, p.ETag))], plan.Size, CancellationToken.None);
        }
        catch (Exception ex) when (ex is ObjectStoreUnavailableException or Amazon.S3.AmazonS3Exception)
        {
            failure = ex;
        }

        var head = await HeadAsync(plan.StorageKey, plan.Size);
        var check = MediaItemLifecycle.CheckAssembled(current, head?.Size, failure is null ? null : head?.ETag);
        if (check == CompletionCheck.Assembled)
        {
            if (failure is not null)
            {
                LogCompletionSettled(logger, id, failure.Message);
            }

            return new Assembly(AssemblyOutcome.Assembled, head, failure, null);
        }

        // NoSuchUpload with no object, or another refusal of the request itself (InvalidPart, AccessDenied, ...): nothing
        // will ever make this assembly succeed. Server errors, throttling and silence are tried again.
        if (failure is Amazon.S3.AmazonS3Exception { StatusCode: >= System.Net.HttpStatusCode.BadRequest and < System.Net.HttpStatusCode.InternalServerError } refused
            && refused.StatusCode != System.Net.HttpStatusCode.TooManyRequests && refused.StatusCode != System.Net.HttpStatusCode.RequestTimeout
            && (refused.ErrorCode != "NoSuchUpload" || check == CompletionCheck.Missing))
        {
            return new Assembly(AssemblyOutcome.Refused, head, failure, refused.ErrorCode);
        }

        LogCompletionDeferred(logger, id, check.ToString(), failure?.Message ?? "the store does not show the object yet");
        throw MediaException.Unavailable("The object store could not assemble the upload now; it is completed later by itself.",
            failure is ObjectStoreUnavailableException unavailable ? unavailable.RetryAfter : options.CompletionReminderDue);
    }

    /// <summary>
    /// Deletes tails and whole-content objects of writers that were superseded or died, but the item's content; false when
    /// S3 did not answer (the caller sweeps again later).
    /// </summary>
    public async Task<bool> SweepAsync(string? tailKey, string? storageKey)
    {
        try
        {
            if (tailKey is not null)
            {
                await store.DeleteAsync(tailKey, CancellationToken.None);
            }

            await store.DeletePrefixAsync(MediaKeys.TailPrefix(id), CancellationToken.None);
            await store.DeletePrefixAsync(MediaKeys.PutPrefix(id), CancellationToken.None, except: storageKey);
            return true;
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            LogReleaseDeferred(logger, id);
            return false;
        }
    }

    /// <summary>
    /// Deletes a refused writer's object (a tail or a whole-content object under its own key), which is never part of the
    /// item: only a key under <paramref name="prefix"/> that the item does not use. False when S3 did not take the delete.
    /// </summary>
    public async Task<bool> DeleteRefusedAsync(string key, string prefix, MediaItemState current)
    {
        if (!key.StartsWith(prefix, StringComparison.Ordinal) || key == current.TailKey || key == current.StorageKey
            || key == current.Staged?.TailKey)
        {
            return true;
        }

        try
        {
            await store.DeleteAsync(key, CancellationToken.None);
            return true;
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            LogReleaseDeferred(logger, id);
            return false;
        }
    }

    /// <summary>Deletes an object the item no longer uses (a replaced tail), best effort: a leftover is swept later.</summary>
    public async Task DeleteQuietlyAsync(string? key)
    {
        if (key is null)
        {
            return;
        }

        try
        {
            await store.DeleteAsync(key, CancellationToken.None);
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            LogReleaseDeferred(logger, id);
        }
    }

    /// <summary>Aborts the multipart upload an ended item had open, best effort (what only the state before knew).</summary>
    public async Task ReleaseAsync(MediaItemState before)
    {
        if (before is { StorageKey: { } key, MultipartUploadId: { } uploadId })
        {
            await store.TryAbortMultipartAsync(key, uploadId, CancellationToken.None);
        }
    }

    /// <summary>Deletes every object of the item (its content, tails, single puts, renditions); throws when S3 does not
    /// answer, for the caller to retry.</summary>
    public async Task DeleteAllAsync(MediaItemState current)
    {
        if (current.StorageKey is null)
        {
            return;
        }

        if (current.MultipartUploadId is { } uploadId)
        {
            await store.TryAbortMultipartAsync(current.StorageKey, uploadId, CancellationToken.None);
        }

        await store.DeletePrefixAsync(MediaKeys.TailPrefix(id), CancellationToken.None);
        await store.DeletePrefixAsync(MediaKeys.PutPrefix(id), CancellationToken.None);
        await store.DeletePrefixAsync(MediaKeys.RenditionsPrefix(id), CancellationToken.None);
        await store.DeleteAsync(current.StorageKey, CancellationToken.None);
    }

    // When the store does not answer, the item's caller is told to retry (503 at the edge) instead of being handed the
    // store's exception, which cannot cross a grain call.
    private async Task<T> GuardAsync<T>(Func<Task<T>> call)
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
            LogCompletionDeferred(logger, id, ex.ErrorCode ?? ex.GetType().Name, ex.Message);
            throw MediaException.Unavailable("The object store refused the request. Retry later.", options.CompletionReminderDue);
        }
    }

    private static bool IsStoreFailure(Exception ex) => ex is ObjectStoreUnavailableException or Amazon.Runtime.AmazonServiceException;

    [LoggerMessage(EventId = LogEvents.MediaItem + 13, Level = LogLevel.Information, Message = "Media item {MediaId}: an assembly that failed ({Reason}) had already happened; settled by the stored object")]
    private static partial void LogCompletionSettled(ILogger logger, long mediaId, string reason);

    [LoggerMessage(EventId = LogEvents.MediaItem + 14, Level = LogLevel.Warning, Message = "Media item {MediaId}: not assembled now ({Check}: {Reason}); it stays completing and is finished later")]
    private static partial void LogCompletionDeferred(ILogger logger, long mediaId, string check, string reason);

    [LoggerMessage(EventId = LogEvents.MediaItem + 4, Level = LogLevel.Warning, Message = "Media item {MediaId}: partial bytes could not be released now")]
    private static partial void LogReleaseDeferred(ILogger logger, long mediaId);
}
