using MediaService.DataPlane;
using MediaService.Grains.Interfaces;

namespace MediaService.Grains.Domain;

/// <summary>
/// The rules of a media item's life, as pure functions of its state: which transitions are allowed, with
/// which lease, where the durable offset is and what the parts must add up to. The grain loads, calls
/// these, and persists.
/// </summary>
public static class MediaItemLifecycle
{
    /// <summary>Most partial uploads one final upload may name.</summary>
    public const int MaxConcatParts = 1000;

    /// <summary>Turns an unused id into an item that receives bytes.</summary>
    public static MediaItemState Create(MediaItemState state, long id, CreateMediaItem request, long maxSize, DateTimeOffset now, string? owner = null)
    {
        if (state.Exists)
        {
            throw new MediaException(MediaErrorCode.InvalidState, $"Media item {id} already exists.");
        }

        if (request.DeclaredLength is { } length && (length < 0 || length > maxSize))
        {
            throw new MediaException(MediaErrorCode.LimitExceeded, $"The largest accepted upload is {maxSize} bytes.");
        }

        var parts = request.ConcatParts.IsDefault ? [] : request.ConcatParts;
        if ((request.Concat == ConcatKind.Final) != (parts.Length > 0) || parts.Length > MaxConcatParts)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, $"A final upload names 1 to {MaxConcatParts} partial uploads; no other upload names any.");
        }

        return new MediaItemState
        {
            Status = MediaStatus.Receiving,
            Owner = owner ?? string.Empty,
            FileName = request.FileName,
            ContentType = request.DeclaredContentType,
            DeclaredLength = request.DeclaredLength,
            UploadMetadata = request.UploadMetadata,
            CreatedAt = now,
            UpdatedAt = now,
            ExpiresAt = request.Expires is { } expires ? now + expires : null,
            StorageKey = MediaKeys.Original(id),
            Concat = request.Concat,
            ConcatParts = parts,
        };
    }

    /// <summary>
    /// Grants a new writer the upload at its durable offset. The previous writer's lease is revoked: a newer
    /// request takes over, as the IETF draft recommends, so a vanished client never blocks the upload.
    /// </summary>
    public static (MediaItemState State, AppendGrant Grant) BeginAppend(MediaItemState state, BeginAppend request, long maxSize, DateTimeOffset now)
    {
        RequireExists(state);
        if ((state.Concat == ConcatKind.Final) != request.Assembly)
        {
            throw new MediaException(MediaErrorCode.NotWritable, state.Concat == ConcatKind.Final
                ? "A final upload is assembled from its partial uploads; it cannot be written to."
                : "Only a final upload is assembled.");
        }

        RequireReceiving(state, now);

        if (request.Offset != state.Offset)
        {
            throw new MediaException(MediaErrorCode.OffsetMismatch, $"The upload is at offset {state.Offset}, not {request.Offset}.");
        }

        var length = state.DeclaredLength;
        if (request.Length is { } declared)
        {
            if (length is { } known && known != declared)
            {
                throw new MediaException(MediaErrorCode.Inconsistent, $"The upload's length is {known}; it cannot change.");
            }

            if (declared < state.Offset || declared > maxSize)
            {
                throw new MediaException(
                    declared > maxSize ? MediaErrorCode.LimitExceeded : MediaErrorCode.Inconsistent,
                    declared > maxSize ? $"The largest accepted upload is {maxSize} bytes." : $"The length {declared} is below the offset {state.Offset}.");
            }

            length = declared;
        }

        var next = state with
        {
            Staged = null,
            Lease = state.Lease + 1,
            DeclaredLength = length,
            ReservedPartNumber = ReserveNext(state, 1),
            LeaseFirstPartNumber = ReserveNext(state, 1),
            UpdatedAt = now,
        };
        var grant = new AppendGrant(next.Lease, next.Offset, length, next.StorageKey!, next.TailKey, next.TailSize, next.ReservedPartNumber, next.MultipartUploadId is not null, next.ExpiresAt);
        return (next, grant);
    }

    /// <summary>Checks that the writer may open a multipart upload (before anything is opened in S3).</summary>
    public static void CheckCanOpenMultipart(MediaItemState state, long lease, DateTimeOffset now)
    {
        RequireWriter(state, lease, now);
        if (state.MultipartUploadId is not null)
        {
            throw new MediaException(MediaErrorCode.InvalidState, "A multipart upload is already open for this item.");
        }
    }

    /// <summary>Records the multipart upload opened for the item.</summary>
    public static MediaItemState OpenMultipart(MediaItemState state, long lease, string uploadId, DateTimeOffset now)
    {
        CheckCanOpenMultipart(state, lease, now);
        return state with
        {
            MultipartUploadId = uploadId,
            UpdatedAt = now,
            Staged = state.Staged is { } staged ? staged with { MultipartUploadId = uploadId } : null,
        };
    }

    /// <summary>Applies <paramref name="change"/> to what is staged (or to the item itself when not staged).</summary>
    private static MediaItemState Apply(MediaItemState state, bool staged, Func<MediaItemState, MediaItemState> change)
    {
        if (!staged)
        {
            if (state.Staged is not null)
            {
                throw new MediaException(MediaErrorCode.Inconsistent, "Staged bytes must be committed first.");
            }

            return change(state);
        }

        var basis = state.Staged ?? state;
        var next = change(basis);
        return ReferenceEquals(next, basis) ? state : state with { Staged = next with { Staged = null }, UpdatedAt = next.UpdatedAt };
    }

    /// <summary>
    /// Hands the writer <paramref name="count"/> more part numbers (to send that many parts at once); returns the
    /// first. Numbers are never handed out twice, whatever becomes of the writer.
    /// </summary>
    public static (MediaItemState State, int First) ReserveParts(MediaItemState state, long lease, int count, DateTimeOffset now)
    {
        RequireWriter(state, lease, now);
        if (count is < 1 or > 64)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "Reserve 1 to 64 part numbers at a time.");
        }

        var first = ReserveNext(state, count);
        var reserved = state.ReservedPartNumber + count;
        return (state with
        {
            ReservedPartNumber = reserved,
            UpdatedAt = now,
            Staged = state.Staged is { } staged ? staged with { ReservedPartNumber = reserved } : null,
        }, first);
    }

    /// <summary>Makes what the writer staged count: its body's checksum matched.</summary>
    public static MediaItemState Commit(MediaItemState state, long lease, DateTimeOffset now)
    {
        RequireWriter(state, lease, now);
        return state.Staged is { } staged ? staged with { Staged = null, UpdatedAt = now } : state;
    }

    /// <summary>
    /// Records a durably written part under the number reserved for the writer, and reserves the next one.
    /// Re-recording the same part (a retried call) changes nothing.
    /// </summary>
    public static MediaItemState RecordPart(MediaItemState state, RecordPart request, long maxSize, DateTimeOffset now)
    {
        RequireWriter(state, request.Lease, now);
        return Apply(state, request.Staged, basis => RecordPartCore(basis, request, maxSize, now));
    }

    private static MediaItemState RecordPartCore(MediaItemState state, RecordPart request, long maxSize, DateTimeOffset now)
    {
        var part = request.Part;
        if (!state.Parts.IsEmpty && state.Parts[^1] == part && request.Lease == state.Lease)
        {
            return state;
        }

        RequireWriter(state, request.Lease, now);
        if (state.MultipartUploadId is null)
        {
            throw new MediaException(MediaErrorCode.InvalidState, "No multipart upload is open for this item.");
        }

        var lastRecorded = state.Parts.IsEmpty ? 0 : state.Parts[^1].PartNumber;
        if (part.PartNumber <= lastRecorded || part.PartNumber < state.LeaseFirstPartNumber || part.PartNumber > state.ReservedPartNumber)
        {
            throw new MediaException(MediaErrorCode.Inconsistent,
                $"Part {part.PartNumber} was not reserved for this writer after part {lastRecorded} (reserved: {state.LeaseFirstPartNumber} to {state.ReservedPartNumber}).");
        }

        if (part.Size <= 0 || string.IsNullOrEmpty(part.ETag))
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "A part must have bytes and an ETag.");
        }

        if (!request.Final && part.Size < S3Options.MinPartSizeBytes)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, $"Only the last part may be under {S3Options.MinPartSizeBytes} bytes.");
        }

        if (request.ConsumesTail && part.Size < state.TailSize)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "A part that consumes the tail must hold at least its bytes.");
        }

        var tailSize = request.ConsumesTail ? 0 : state.TailSize;
        if (tailSize > 0)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "The tail's bytes must begin the next part.");
        }

        var size = state.Size + part.Size;
        CheckWithinLength(state, size, maxSize);
        long? length = state.DeclaredLength;
        if (request.Final)
        {
            if (length is { } known && known != size)
            {
                throw new MediaException(MediaErrorCode.Inconsistent, $"The content ends at {size} bytes but {known} were declared.");
            }

            length = size;
        }
        else if (length == size)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "A part that reaches the declared length must be the final part.");
        }

        return state with
        {
            Parts = state.Parts.Add(part),
            Size = size,
            TailKey = request.ConsumesTail ? null : state.TailKey,
            TailSize = tailSize,
            DeclaredLength = length,
            UpdatedAt = now,
        };
    }

    /// <summary>Records a new tail object holding the previous tail's bytes followed by new ones.</summary>
    public static MediaItemState RecordTail(MediaItemState state, RecordTail request, long maxSize, DateTimeOffset now)
    {
        RequireWriter(state, request.Lease, now);
        return Apply(state, request.Staged, basis => RecordTailCore(basis, request, maxSize, now));
    }

    private static MediaItemState RecordTailCore(MediaItemState state, RecordTail request, long maxSize, DateTimeOffset now)
    {
        if (request.TailSize <= state.TailSize || request.TailSize >= S3Options.MinPartSizeBytes)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "A tail must grow the previous one and stay under the part minimum.");
        }

        CheckWithinLength(state, state.Size + request.TailSize, maxSize);
        if (state.DeclaredLength == state.Size + request.TailSize)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "Bytes that complete the content are not a tail.");
        }

        return state with { TailKey = request.TailKey, TailSize = request.TailSize, UpdatedAt = now };
    }

    /// <summary>Checks that the writer's total matches the recorded parts and returns the parts S3 must assemble.</summary>
    public static CompletionPlan PlanCompletion(MediaItemState state, long lease, long size, DateTimeOffset now)
    {
        RequireWriter(state, lease, now);
        if (state.MultipartUploadId is null)
        {
            throw new MediaException(MediaErrorCode.InvalidState, "No multipart upload is open for this item.");
        }

        CheckComplete(state, size);
        return new CompletionPlan(state.StorageKey!, state.MultipartUploadId, state.Parts);
    }

    /// <summary>Checks a completion claim before the object is verified in S3.</summary>
    public static void CheckCompletion(MediaItemState state, CompleteUpload request, DateTimeOffset now)
    {
        RequireWriter(state, request.Lease, now);
        if (request.SinglePut != (state.MultipartUploadId is null))
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "The completion does not match how the bytes were written.");
        }

        if (request.SinglePut)
        {
            // One PutObject of everything: it must carry at least the tail, and match a declared length.
            if (request.Size < state.TailSize || (state.DeclaredLength is { } declared && declared != request.Size))
            {
                throw new MediaException(MediaErrorCode.Inconsistent, $"{request.Size} bytes do not complete the upload.");
            }
        }
        else
        {
            CheckComplete(state, request.Size);
        }

        if (request.Sha256 is { } sha && (sha.Length != 64 || !sha.All(Uri.IsHexDigit)))
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "The SHA-256 must be 64 hex digits.");
        }
    }

    /// <summary>Marks the item stored once S3 holds exactly the claimed size, and starts its processing in the same
    /// state (a partial upload of a concatenation is only a piece: it is not processed).</summary>
    public static MediaItemState MarkStored(MediaItemState state, CompleteUpload request, long? storedSize, string? objectETag, DateTimeOffset now)
    {
        CheckCompletion(state, request, now);
        if (storedSize != request.Size)
        {
            throw new MediaException(
                MediaErrorCode.Inconsistent,
                storedSize is null ? "The object is not in the store." : $"The store holds {storedSize} bytes, not {request.Size}.");
        }

        var stored = state with
        {
            Staged = null,
            Status = MediaStatus.Stored,
            Size = request.Size,
            DeclaredLength = request.Size,
            Sha256 = request.Sha256?.ToLowerInvariant(),
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
            throw new MediaException(MediaErrorCode.InvalidState, "Only an unfinished upload can be terminated.");
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
    /// as if nothing existed. It keeps where its bytes were, so that their release can be retried until done.
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

    private static int ReserveNext(MediaItemState state, int count)
    {
        if (state.ReservedPartNumber + count > S3Options.MaxPartCount)
        {
            throw new MediaException(MediaErrorCode.LimitExceeded, $"An item has at most {S3Options.MaxPartCount} parts.");
        }

        return state.ReservedPartNumber + 1;
    }

    private static void CheckWithinLength(MediaItemState state, long size, long maxSize)
    {
        if (size > maxSize)
        {
            throw new MediaException(MediaErrorCode.LimitExceeded, $"The largest accepted upload is {maxSize} bytes.");
        }

        if (state.DeclaredLength is { } declared && size > declared)
        {
            throw new MediaException(MediaErrorCode.LimitExceeded, $"The upload's length is {declared} bytes.");
        }
    }

    private static void CheckComplete(MediaItemState state, long size)
    {
        if (size != state.Size || state.TailSize != 0)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, $"{size} bytes were claimed but the recorded parts hold {state.Size}.");
        }

        if (state.DeclaredLength is { } declared && declared != size)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, $"{size} bytes were written but {declared} were declared.");
        }
    }

    private static void RequireExists(MediaItemState state)
    {
        if (!state.Exists || state.Status == MediaStatus.Deleted)
        {
            throw new MediaException(MediaErrorCode.NotFound, "No media item exists under this id.");
        }
    }

    private static void RequireVersion(MediaItemState state, long? expectedVersion)
    {
        if (expectedVersion is { } expected && expected != state.Version)
        {
            throw new MediaException(MediaErrorCode.PreconditionFailed, $"The item is at version {state.Version}, not {expected}.");
        }
    }

    private static void RequireReceiving(MediaItemState state, DateTimeOffset now)
    {
        RequireExists(state);
        if (state.Status is MediaStatus.Expired or MediaStatus.Terminated || (state.ExpiresAt is { } at && at <= now && state.Status == MediaStatus.Receiving))
        {
            throw new MediaException(MediaErrorCode.Gone, "The upload is gone (expired or terminated).");
        }

        if (state.Status != MediaStatus.Receiving)
        {
            throw new MediaException(MediaErrorCode.InvalidState, $"The item is {state.Status.ToString().ToLowerInvariant()}, not receiving.");
        }
    }

    private static void RequireWriter(MediaItemState state, long lease, DateTimeOffset now)
    {
        RequireReceiving(state, now);
        if (lease != state.Lease)
        {
            throw new MediaException(MediaErrorCode.StaleWriter, "Another writer took over this upload.");
        }
    }
}
