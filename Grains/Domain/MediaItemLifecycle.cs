using MediaService.DataPlane;
using MediaService.Grains.Interfaces;

namespace MediaService.Grains.Domain;

/// <summary>
/// The rules of a media item's life, as pure functions of its state: which transitions are allowed, with
/// which lease, where the durable offset is and what the parts must add up to. The grain loads, calls
/// these, and persists. This file holds creation and appends; <c>MediaItemLifecycle.Completion.cs</c> the completion
/// and storing, <c>MediaItemLifecycle.Ends.cs</c> the ends of an item and its view.
/// </summary>
public static partial class MediaItemLifecycle
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
