using MediaService.Grains.Interfaces;

namespace MediaService.Grains.Domain;

// How an item ends (failed, terminated, expired, deleted), its annotations, and what callers see of it.
public static partial class MediaItemLifecycle
{
    /// <summary>Ends an upload that cannot finish. A stored item is never failed by a late writer.</summary>
    public static MediaItemState Fail(MediaItemState state, long lease, string reason, DateTimeOffset now)
    {
        RequireWriter(state, lease, now);
        return Release(state, MediaStatus.Failed, reason.Length > 500 ? reason[..500] : reason, now);
    }

    /// <summary>Ends an unfinished upload on the client's request (tus termination).</summary>
    public static MediaItemState Terminate(MediaItemState state, DateTimeOffset now)
    {
        RequireExists(state);
        if (state.Status is MediaStatus.Terminated or MediaStatus.Expired)
        {
            throw new MediaException(MediaErrorCode.Gone, "The upload is gone.");
        }

        if (state.Status != MediaStatus.Receiving)
        {
            throw new MediaException(MediaErrorCode.InvalidState, state.Status == MediaStatus.Completing
                ? "Every byte of the upload is stored; it is being completed and can no longer be terminated."
                : "Only an unfinished upload can be terminated.");
        }

        return Release(state, MediaStatus.Terminated, "Terminated by the client.", now);
    }

    /// <summary>Expires an upload still unfinished at its expiry; anything else is left alone.</summary>
    public static MediaItemState Expire(MediaItemState state, DateTimeOffset now) =>
        state.Status == MediaStatus.Receiving && state.ExpiresAt is { } at && at <= now
            ? Release(state, MediaStatus.Expired, "The upload expired before it was finished.", now)
            : state;

    /// <summary>
    /// Applies a merge patch to the item's annotations, if <paramref name="expectedVersion"/> (If-Match) is absent or
    /// the current version. Refuses with <see cref="MediaErrorCode.InvalidInput"/> when a rule is broken.
    /// </summary>
    public static MediaItemState Annotate(MediaItemState state, AnnotationsPatch patch, long? expectedVersion, MetadataOptions limits, DateTimeOffset now)
    {
        RequireExists(state);
        RequireVersion(state, expectedVersion);
        var (annotations, errors) = AnnotationRules.Apply(state.Annotations, patch, limits);
        if (errors.Count > 0)
        {
            throw new MediaException(MediaErrorCode.InvalidInput, "The metadata breaks the model's rules.", errors);
        }

        return state with { Annotations = annotations, UpdatedAt = now };
    }

    /// <summary>
    /// Deletes the item (if <paramref name="expectedVersion"/> is absent or current): it becomes a tombstone that answers
    /// as if nothing existed. It keeps where its bytes were, so that their release can be retried until done, and whose
    /// it was, so that its events still reach the owner's webhooks.
    /// </summary>
    public static MediaItemState Delete(MediaItemState state, long? expectedVersion, DateTimeOffset now)
    {
        RequireExists(state);
        RequireVersion(state, expectedVersion);
        return MediaItemState.Empty with
        {
            Status = MediaStatus.Deleted,
            CreatedAt = state.CreatedAt,
            UpdatedAt = now,
            StorageKey = state.StorageKey,
            MultipartUploadId = state.MultipartUploadId,
            Version = state.Version,
            Owner = state.Owner,
            Outbox = state.Outbox,
        };
    }

    /// <summary>True when <paramref name="caller"/> may see the item: its owner, or a call from inside the cluster (null).</summary>
    public static bool Visible(MediaItemState state, string? caller) =>
        caller is null || !state.Exists || string.Equals(state.Owner ?? string.Empty, caller, StringComparison.Ordinal);

    /// <summary>The client's view of the item.</summary>
    public static MediaItemView ToView(MediaItemState state, long id) => new(
        id,
        state.FileName,
        state.ContentType,
        state.Size,
        state.Status,
        state.CreatedAt,
        state.UpdatedAt,
        state.Sha256,
        state.FailureReason,
        state.Offset,
        state.DeclaredLength,
        state.UploadMetadata,
        state.ExpiresAt,
        state.Concat,
        state.ConcatParts,
        MediaProcessingRules.ToView(state.Processing),
        state.Version,
        state.Annotations);

    /// <summary>A strong validator of stored content: its SHA-256 when known, else the store's ETag.</summary>
    public static string? ContentETag(MediaItemState state) =>
        state.Sha256 is { } sha ? $"\"{sha}\"" : state.ObjectETag is { } etag ? $"\"s3-{etag.Trim('"')}\"" : null;

    private static MediaItemState Release(MediaItemState state, MediaStatus status, string reason, DateTimeOffset now) => state with
    {
        Staged = null,
        PendingSha256 = null,
        Status = status,
        FailureReason = reason,
        UpdatedAt = now,
        ExpiresAt = null,
        MultipartUploadId = null,
        Parts = [],
        Size = 0,
        TailKey = null,
        TailSize = 0,
    };
}
