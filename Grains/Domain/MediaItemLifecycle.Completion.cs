using MediaService.DataPlane;
using MediaService.Grains.Interfaces;

namespace MediaService.Grains.Domain;

// Completion: what S3 must assemble, whether what it holds is the content, and the item stored.
public static partial class MediaItemLifecycle
{
    /// <summary>What S3 must assemble for a completing item: the grain's own record of the parts, nothing a writer claims.</summary>
    public static CompletionPlan PlanCompletion(MediaItemState state)
    {
        if (state.Status != MediaStatus.Completing || state.MultipartUploadId is null || state.Parts.IsEmpty)
        {
            throw new MediaException(MediaErrorCode.InvalidState, "The item is not completing.");
        }

        return new CompletionPlan(state.StorageKey!, state.MultipartUploadId, state.Parts, state.Size);
    }

    /// <summary>
    /// Judges what the store holds at a completing item's key after an assembly was asked for (whether its answer came or
    /// was lost): the object must hold exactly the recorded size and, where the store's ETag tells, be made of exactly
    /// the recorded parts.
    /// </summary>
    public static CompletionCheck CheckAssembled(MediaItemState state, long? storedSize, string? objectETag)
    {
        var plan = PlanCompletion(state);
        if (storedSize is null)
        {
            return CompletionCheck.Missing;
        }

        if (storedSize != plan.Size)
        {
            return CompletionCheck.Wrong;
        }

        return MultipartETag.Matches(objectETag, [.. plan.Parts.Select(p => p.ETag)]) == false ? CompletionCheck.Wrong : CompletionCheck.Assembled;
    }

    /// <summary>Marks a completing item stored once <see cref="CheckAssembled"/> accepted what the store holds. When the
    /// store answered the assembly itself (<paramref name="answered"/>), its size alone is checked: the ETag may be of
    /// another kind than AWS's.</summary>
    public static MediaItemState MarkAssembled(MediaItemState state, long? storedSize, string? objectETag, DateTimeOffset now, bool answered = false)
    {
        if (CheckAssembled(state, storedSize, answered ? null : objectETag) != CompletionCheck.Assembled)
        {
            throw new MediaException(MediaErrorCode.Inconsistent,
                storedSize is null ? "The object is not in the store." : $"The store holds {storedSize} bytes ({objectETag}), not the {state.Size} recorded.");
        }

        return Stored(state, state.StorageKey!, state.Size, state.PendingSha256, objectETag, now);
    }

    /// <summary>Checks a writer's whole-content object before it is looked at in S3 (a refused writer costs no S3 call).</summary>
    public static void CheckSinglePut(MediaItemState state, long id, RecordSinglePut put, DateTimeOffset now)
    {
        RequireWriter(state, put.Lease, now);
        if (state.MultipartUploadId is not null)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "A multipart upload is open: the content is finished through it.");
        }

        if (!put.Key.StartsWith(MediaKeys.LeasePrefix(MediaKeys.PutPrefix(id), put.Lease), StringComparison.Ordinal) || put.Key.Contains("..", StringComparison.Ordinal))
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "The object is not under this writer's own put key.");
        }

        // One object of everything: it must carry at least the tail, and match a declared length.
        if (put.Size < state.TailSize || (state.DeclaredLength is { } declared && declared != put.Size))
        {
            throw new MediaException(MediaErrorCode.Inconsistent, $"{put.Size} bytes do not complete the upload.");
        }

        if (string.IsNullOrEmpty(put.ETag))
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "The object's ETag is missing.");
        }

        CheckSha(put.Sha256);
    }

    /// <summary>Marks the item stored from a writer's whole-content object, once the store holds exactly that object.</summary>
    public static MediaItemState MarkSinglePutStored(MediaItemState state, long id, RecordSinglePut put, long? storedSize, string? objectETag, DateTimeOffset now)
    {
        CheckSinglePut(state, id, put, now);
        if (storedSize != put.Size || !string.Equals(objectETag?.Trim('"'), put.ETag.Trim('"'), StringComparison.OrdinalIgnoreCase))
        {
            throw new MediaException(
                MediaErrorCode.Inconsistent,
                storedSize is null ? "The object is not in the store." : $"The store holds {storedSize} bytes ({objectETag}), not {put.Size} ({put.ETag}).");
        }

        return Stored(state, put.Key, put.Size, put.Sha256?.ToLowerInvariant(), objectETag, now);
    }

    /// <summary>Ends a completion that can never succeed: the store no longer has the parts, and no object of them.</summary>
    public static MediaItemState FailCompletion(MediaItemState state, string reason, DateTimeOffset now)
    {
        if (state.Status != MediaStatus.Completing)
        {
            throw new MediaException(MediaErrorCode.InvalidState, "The item is not completing.");
        }

        return Release(state, MediaStatus.Failed, reason.Length > 500 ? reason[..500] : reason, now);
    }

    // The item is stored (and, unless it is a partial upload of a concatenation, its processing starts in the same state).
    private static MediaItemState Stored(MediaItemState state, string key, long size, string? sha256, string? objectETag, DateTimeOffset now)
    {
        var stored = state with
        {
            Staged = null,
            Status = MediaStatus.Stored,
            StorageKey = key,
            Size = size,
            DeclaredLength = size,
            Sha256 = sha256,
            PendingSha256 = null,
            ObjectETag = objectETag,
            StoredAt = now,
            UpdatedAt = now,
            ExpiresAt = null,
            MultipartUploadId = null,
            Parts = [],
            TailKey = null,
            TailSize = 0,
        };
        return stored.Concat == ConcatKind.Partial ? stored : MediaProcessingRules.Start(stored, now);
    }

    private static void CheckSha(string? sha)
    {
        if (sha is not null && (sha.Length != 64 || !sha.All(Uri.IsHexDigit)))
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "The SHA-256 must be 64 hex digits.");
        }
    }
}
