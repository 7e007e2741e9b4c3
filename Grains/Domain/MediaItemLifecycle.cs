using System.Collections.Immutable;
using MediaService.DataPlane;
using MediaService.Grains.Interfaces;

namespace MediaService.Grains.Domain;

/// <summary>
/// The rules of a media item's life, as pure functions of its state: which transitions are allowed,
/// with which lease, and what the parts must add up to. The grain loads, calls these, and persists.
/// </summary>
public static class MediaItemLifecycle
{
    /// <summary>The S3 key of an item's original bytes.</summary>
    public static string OriginalKey(long id) => $"media/{id}/original";

    /// <summary>Turns an unused id into an item that receives bytes.</summary>
    public static MediaItemState Create(MediaItemState state, long id, CreateMediaItem request, DateTimeOffset now)
    {
        if (state.Exists)
        {
            throw new MediaException(MediaErrorCode.InvalidState, $"Media item {id} already exists.");
        }

        return new MediaItemState
        {
            Status = MediaStatus.Receiving,
            FileName = request.FileName,
            ContentType = request.DeclaredContentType,
            DeclaredLength = request.DeclaredLength,
            CreatedAt = now,
            UpdatedAt = now,
            StorageKey = OriginalKey(id),
            Lease = state.Lease + 1,
        };
    }

    /// <summary>Checks that the writer may open a multipart upload (before anything is opened in S3).</summary>
    public static void CheckCanOpenMultipart(MediaItemState state, long lease)
    {
        RequireWriter(state, lease);
        if (state.MultipartUploadId is not null)
        {
            throw new MediaException(MediaErrorCode.InvalidState, "A multipart upload is already open for this item.");
        }
    }

    /// <summary>Records the multipart upload opened for the item.</summary>
    public static MediaItemState OpenMultipart(MediaItemState state, long lease, string uploadId, DateTimeOffset now)
    {
        CheckCanOpenMultipart(state, lease);
        return state with { MultipartUploadId = uploadId, UpdatedAt = now };
    }

    /// <summary>Records a durably written part. Parts arrive in order; re-recording the last part (a retried
    /// upload of the same bytes) replaces it.</summary>
    public static MediaItemState RecordPart(MediaItemState state, long lease, UploadedPart part, long? maxSize, DateTimeOffset now)
    {
        RequireWriter(state, lease);
        if (state.MultipartUploadId is null)
        {
            throw new MediaException(MediaErrorCode.InvalidState, "No multipart upload is open for this item.");
        }

        if (part.Size <= 0 || string.IsNullOrEmpty(part.ETag))
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "A part must have bytes and an ETag.");
        }

        var parts = state.Parts;
        if (part.PartNumber == parts.Length && parts.Length > 0)
        {
            parts = parts.SetItem(parts.Length - 1, part);
        }
        else if (part.PartNumber == parts.Length + 1)
        {
            if (parts.Length >= S3Options.MaxPartCount)
            {
                throw new MediaException(MediaErrorCode.LimitExceeded, $"An item has at most {S3Options.MaxPartCount} parts.");
            }

            parts = parts.Add(part);
        }
        else
        {
            throw new MediaException(MediaErrorCode.Inconsistent, $"Part {part.PartNumber} is out of order: {parts.Length} parts are recorded.");
        }

        var size = SumOf(parts);
        if (maxSize is { } max && size > max)
        {
            throw new MediaException(MediaErrorCode.LimitExceeded, $"The item would exceed {max} bytes.");
        }

        if (state.DeclaredLength is { } declared && size > declared)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, $"The parts exceed the declared length of {declared} bytes.");
        }

        return state with { Parts = parts, Size = size, UpdatedAt = now };
    }

    /// <summary>Checks that the writer's total matches the recorded parts and returns the parts S3 must assemble.</summary>
    public static CompletionPlan PlanCompletion(MediaItemState state, long lease, long size)
    {
        RequireWriter(state, lease);
        if (state.MultipartUploadId is null)
        {
            throw new MediaException(MediaErrorCode.InvalidState, "No multipart upload is open for this item.");
        }

        CheckSize(state, size);
        return new CompletionPlan(state.StorageKey!, state.MultipartUploadId, state.Parts);
    }

    /// <summary>Checks a completion claim before the object is verified in S3.</summary>
    public static void CheckCompletion(MediaItemState state, CompleteUpload request)
    {
        RequireWriter(state, request.Lease);
        if (request.SinglePut != (state.MultipartUploadId is null))
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "The completion does not match how the bytes were written.");
        }

        if (!request.SinglePut)
        {
            CheckSize(state, request.Size);
        }
        else if (state.DeclaredLength is { } declared && declared != request.Size)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, $"{request.Size} bytes were written but {declared} were declared.");
        }

        if (request.Sha256 is not { Length: 64 } || !request.Sha256.All(Uri.IsHexDigit))
        {
            throw new MediaException(MediaErrorCode.Inconsistent, "The SHA-256 must be 64 hex digits.");
        }
    }

    /// <summary>Marks the item stored once S3 holds exactly <paramref name="storedSize"/> bytes.</summary>
    public static MediaItemState MarkStored(MediaItemState state, CompleteUpload request, long? storedSize, DateTimeOffset now)
    {
        CheckCompletion(state, request);
        if (storedSize != request.Size)
        {
            throw new MediaException(
                MediaErrorCode.Inconsistent,
                storedSize is null ? "The object is not in the store." : $"The store holds {storedSize} bytes, not {request.Size}.");
        }

        return state with
        {
            Status = MediaStatus.Stored,
            Size = request.Size,
            Sha256 = request.Sha256.ToLowerInvariant(),
            StoredAt = now,
            UpdatedAt = now,
            MultipartUploadId = null,
            Parts = [],
        };
    }

    /// <summary>Ends an upload that cannot finish. A stored item is never failed by a late writer.</summary>
    public static MediaItemState Fail(MediaItemState state, long lease, string reason, DateTimeOffset now)
    {
        RequireWriter(state, lease);
        return state with
        {
            Status = MediaStatus.Failed,
            FailureReason = reason.Length > 500 ? reason[..500] : reason,
            UpdatedAt = now,
            MultipartUploadId = null,
            Parts = [],
            Size = 0,
        };
    }

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
        state.FailureReason);

    private static void RequireWriter(MediaItemState state, long lease)
    {
        if (!state.Exists)
        {
            throw new MediaException(MediaErrorCode.NotFound, "No media item exists under this id.");
        }

        if (state.Status != MediaStatus.Receiving)
        {
            throw new MediaException(MediaErrorCode.InvalidState, $"The item is {state.Status.ToString().ToLowerInvariant()}, not receiving.");
        }

        if (lease != state.Lease)
        {
            throw new MediaException(MediaErrorCode.StaleWriter, "Another writer holds this upload.");
        }
    }

    private static void CheckSize(MediaItemState state, long size)
    {
        if (size != state.Size)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, $"{size} bytes were claimed but the recorded parts hold {state.Size}.");
        }

        if (state.DeclaredLength is { } declared && declared != size)
        {
            throw new MediaException(MediaErrorCode.Inconsistent, $"{size} bytes were written but {declared} were declared.");
        }
    }

    private static long SumOf(ImmutableArray<UploadedPart> parts)
    {
        long total = 0;
        foreach (var p in parts)
        {
            total += p.Size;
        }

        return total;
    }
}
