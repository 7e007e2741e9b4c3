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
            SlidingExpiry = request.SlidingExpiry ? request.Expires : null,
            StorageKey = MediaKeys.Original(id),
            Concat = request.Concat,
            ConcatParts = parts,
        };
    }

    /// <summary>Part numbers are made durable in blocks of this many: the ceiling is raised at most once per block.</summary>
    public const int PartNumberBlock = 16;

    /// <summary>
    /// Grants a new writer the upload at its durable offset, under <paramref name="lease"/> (a fresh random value: leases
    /// are never reused). The previous writer's lease is revoked: a newer request takes over, as the IETF draft recommends,
    /// so a vanished client never blocks the upload. <c>Durable</c> is true when the new state must be persisted before
    /// the grant is answered (a length was declared, staged bytes were dropped, or the part number ceiling rose);
    /// otherwise the takeover may stay in memory: if it is lost with the activation, the older writer's lease is the
    /// current one again, and the newer writer is refused as stale, so at most one writer is ever current.
    /// </summary>
    public static (MediaItemState State, AppendGrant Grant, bool Durable) BeginAppend(
        MediaItemState state, long id, BeginAppend request, long maxSize, long lease, DateTimeOffset now)
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

        if (request.Parts is < 0 or > 64)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "Reserve 0 to 64 part numbers at a time.");
        }

        if (lease == 0 || lease == state.Lease)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "A new writer needs a new lease.");
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

        var taken = state with { Staged = null, Lease = lease, DeclaredLength = length, UpdatedAt = now };
        var (next, first) = Reserve(taken, request.Parts);
        next = next with { LeaseFirstPartNumber = first == 0 ? next.ReservedPartNumber + 1 : first };
        var durable = state.Staged is not null || length != state.DeclaredLength || next.PartNumberCeiling != state.PartNumberCeiling;
        var grant = new AppendGrant(lease, next.Offset, length, next.StorageKey!, next.TailKey, next.TailSize, first,
            next.MultipartUploadId is not null, next.ExpiresAt, request.Parts, MediaKeys.Put(id, lease));
        return (next, grant, durable);
    }

    /// <summary>
    /// Revokes the current writer's lease (an offset retrieval that must stay true until the next append): the state
    /// under <paramref name="lease"/>, a fresh value no writer holds. Bytes staged by the revoked writer and not yet
    /// counted are dropped, as a new writer's grant drops them. <c>Durable</c> is true when that dropping must be persisted;
    /// otherwise the revocation may stay in memory (lost with the activation, the older lease is current again). An item
    /// that is not receiving is returned unchanged.
    /// </summary>
    public static (MediaItemState State, bool Durable) FenceWriters(MediaItemState state, long lease, DateTimeOffset now)
    {
        // Not a one-shot upload (POST /media/upload: its single request is the upload, with no offset to retrieve).
        if (!state.Exists || state.Status != MediaStatus.Receiving || state.Concat == ConcatKind.Final || state.ExpiresAt <= now
            || state.SlidingExpiry is not null)
        {
            return (state, false);
        }

        return (state with { Staged = null, Lease = lease, UpdatedAt = now }, state.Staged is not null);
    }

    /// <summary>
    /// The state a new activation works from: numbers up to the durable ceiling may have been handed out by the last one,
    /// so the next number handed out is above it. (States written before the ceiling existed count their reserved numbers.)
    /// </summary>
    public static MediaItemState Reactivated(MediaItemState state)
    {
        var ceiling = Math.Max(state.PartNumberCeiling, state.ReservedPartNumber);
        if (state.Staged is { } staged)
        {
            // What is staged checks part numbers against its own copy: it starts above the ceiling too.
            ceiling = Math.Max(ceiling, Math.Max(staged.PartNumberCeiling, staged.ReservedPartNumber));
            state = state with { Staged = staged with { ReservedPartNumber = ceiling, PartNumberCeiling = ceiling } };
        }

        return ceiling == state.ReservedPartNumber && ceiling == state.PartNumberCeiling
            ? state
            : state with { ReservedPartNumber = ceiling, PartNumberCeiling = ceiling };
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
    /// first, and whether the state must be persisted before answering (the durable ceiling rose). Numbers are never
    /// handed out twice, whatever becomes of the writer or the activation.
    /// </summary>
    public static (MediaItemState State, int First, bool Durable) ReserveParts(MediaItemState state, long lease, int count, DateTimeOffset now)
    {
        RequireWriter(state, lease, now);
        if (count is < 1 or > 64)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "Reserve 1 to 64 part numbers at a time.");
        }

        var (next, first) = Reserve(state with { UpdatedAt = now }, count);
        next = next.Staged is { } staged ? next with { Staged = staged with { ReservedPartNumber = next.ReservedPartNumber, PartNumberCeiling = next.PartNumberCeiling } } : next;
        return (next, first, next.PartNumberCeiling != state.PartNumberCeiling);
    }

    // Takes count numbers above the last handed out (0 takes none and returns 0), raising the durable ceiling by whole
    // blocks when they go past it.
    private static (MediaItemState State, int First) Reserve(MediaItemState state, int count)
    {
        if (count == 0)
        {
            return (state, 0);
        }

        if (state.ReservedPartNumber + count > S3Options.MaxPartCount)
        {
            throw new MediaException(MediaErrorCode.LimitExceeded, $"An item has at most {S3Options.MaxPartCount} parts.");
        }

        var reserved = state.ReservedPartNumber + count;
        var ceiling = reserved <= state.PartNumberCeiling
            ? state.PartNumberCeiling
            : Math.Min(S3Options.MaxPartCount, reserved + PartNumberBlock - 1);
        return (state with { ReservedPartNumber = reserved, PartNumberCeiling = ceiling }, state.ReservedPartNumber + 1);
    }

    /// <summary>Makes what the writer staged count: its body's checksum matched.</summary>
    public static MediaItemState Commit(MediaItemState state, long lease, DateTimeOffset now)
    {
        RequireWriter(state, lease, now);
        return state.Staged is { } staged
            ? staged with
            {
                Staged = null,
                UpdatedAt = now,
                ReservedPartNumber = Math.Max(staged.ReservedPartNumber, state.ReservedPartNumber),
                PartNumberCeiling = Math.Max(staged.PartNumberCeiling, state.PartNumberCeiling),
            }
            : state;
    }

    /// <summary>
    /// Records a durably written part under the number reserved for the writer, and reserves the next one.
    /// Re-recording the same part (a retried call) changes nothing.
    /// </summary>
    /// <remarks>The final part moves the item (or, while staged, what is staged) to <see cref="MediaStatus.Completing"/>:
    /// every byte is in S3 and recorded, and only the assembly remains, which the grain does.</remarks>
    public static MediaItemState RecordPart(MediaItemState state, RecordPart request, long maxSize, DateTimeOffset now)
    {
        RequireWriter(state, request.Lease, now);
        CheckSha(request.Sha256);
        return Slide(Apply(state, request.Staged, basis => RecordPartCore(basis, request, maxSize, now)), request.Staged, now);
    }

    private static MediaItemState RecordPartCore(MediaItemState state, RecordPart request, long maxSize, DateTimeOffset now)
    {
        var part = request.Part;
        if (!state.Parts.IsEmpty && state.Parts[^1] == part && request.Lease == state.Lease)
        {
            return state;
        }

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
            Status = request.Final ? MediaStatus.Completing : state.Status,
            PendingSha256 = request.Final ? request.Sha256?.ToLowerInvariant() : null,
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
        return Slide(Apply(state, request.Staged, basis => RecordTailCore(basis, request, maxSize, now)), request.Staged, now);
    }

    // A one-shot upload's expiry counts from its last durable progress.
    private static MediaItemState Slide(MediaItemState state, bool staged, DateTimeOffset now) =>
        !staged && state.SlidingExpiry is { } idle && state.Status == MediaStatus.Receiving ? state with { ExpiresAt = now + idle } : state;

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
