using System.Collections.Immutable;

namespace MediaService.Grains.Interfaces;

/// <summary>Asks a fresh id to become a media item that is about to receive its bytes.</summary>
/// <param name="FileName">The original file name the client gave, already sanitised by the edge, if any.</param>
/// <param name="DeclaredContentType">The media type the client declared; a hint, not a verdict.</param>
/// <param name="DeclaredLength">The total length when the client announced it, else null (deferred).</param>
/// <param name="UploadMetadata">The tus <c>Upload-Metadata</c> header as sent (validated by the edge), if any.</param>
/// <param name="Expires">For resumable uploads: how long the item may stay unfinished; null for one-shot uploads.</param>
/// <param name="Concat">tus concatenation: a partial upload, or the final one assembled from <paramref name="ConcatParts"/>.</param>
/// <param name="ConcatParts">For a final upload: the ids of its partial uploads, in order.</param>
/// <param name="SlidingExpiry">When true, <paramref name="Expires"/> counts from the item's last durable progress rather
/// than from its creation (one-shot uploads: an item whose request died is failed after that long without progress).</param>
[GenerateSerializer, Immutable, Alias("MediaService.CreateMediaItem")]
public sealed record CreateMediaItem(
    [property: Id(0)] string? FileName,
    [property: Id(1)] string DeclaredContentType,
    [property: Id(2)] long? DeclaredLength,
    [property: Id(3)] string? UploadMetadata = null,
    [property: Id(4)] TimeSpan? Expires = null,
    [property: Id(5)] ConcatKind Concat = ConcatKind.None,
    [property: Id(6)] ImmutableArray<long> ConcatParts = default,
    [property: Id(7)] bool SlidingExpiry = false);

/// <summary>The role of an item in tus concatenation. Persisted: never renumber.</summary>
[GenerateSerializer]
[Alias("MediaService.ConcatKind")]
public enum ConcatKind
{
    /// <summary>An ordinary upload.</summary>
    None = 0,

    /// <summary>A piece of a larger upload (<c>Upload-Concat: partial</c>).</summary>
    Partial = 1,

    /// <summary>An upload assembled from partial uploads (<c>Upload-Concat: final;...</c>); not writable directly.</summary>
    Final = 2,
}

/// <summary>The answer to <see cref="CreateMediaItem"/>.</summary>
/// <param name="Created">False when the id already belongs to an item: the caller must pick another id.</param>
/// <param name="ExpiresAt">When the new item expires unless finished (resumable uploads), else null.</param>
[GenerateSerializer, Immutable, Alias("MediaService.CreateMediaItemResult")]
public sealed record CreateMediaItemResult(
    [property: Id(0)] bool Created,
    [property: Id(1)] DateTimeOffset? ExpiresAt = null);

/// <summary>A writer's request to append at <paramref name="Offset"/>.</summary>
/// <param name="Offset">The offset the writer believes is durable; must equal the item's.</param>
/// <param name="Length">Declares the total length of a deferred-length upload (once; it cannot change).</param>
/// <param name="Assembly">True when the writer assembles a final upload from its partials (the only way to write one).</param>
/// <param name="Parts">Part numbers to reserve now, for the parts the writer expects to send (0 to 64): an append that
/// only grows the tail spends none.</param>
[GenerateSerializer, Immutable, Alias("MediaService.BeginAppend")]
public sealed record BeginAppend(
    [property: Id(0)] long Offset,
    [property: Id(1)] long? Length,
    [property: Id(2)] bool Assembly = false,
    [property: Id(3)] int Parts = 0);

/// <summary>
/// The right to append, until a newer writer takes over. A newer <see cref="IMediaUpload.BeginAppendAsync"/>
/// revokes it: every later call with this lease is refused, so a vanished or slow writer can never corrupt the
/// upload. Part numbers are handed out one by one and never twice, so a stale writer's late part cannot
/// replace an accepted one.
/// </summary>
/// <param name="Lease">The writer's generation.</param>
/// <param name="Offset">The durable offset the append starts at.</param>
/// <param name="Length">The total length, when known.</param>
/// <param name="StorageKey">The key of the final object.</param>
/// <param name="TailKey">Bytes after the last part (under the part minimum) kept as their own object; the writer
/// prepends them to what it sends next.</param>
/// <param name="TailSize">Bytes in the tail object.</param>
/// <param name="PartNumber">The first of <paramref name="PartCount"/> part numbers reserved for the writer (0 when none
/// were asked for); more come from <see cref="IMediaUpload.ReservePartsAsync"/>.</param>
/// <param name="MultipartOpen">True when the item's S3 multipart upload is open (the content must be finished through it).</param>
/// <param name="ExpiresAt">When the upload expires unless finished, else null.</param>
/// <param name="PartCount">How many part numbers from <paramref name="PartNumber"/> on are the writer's.</param>
/// <param name="PutKey">Where the writer stores the whole content when it sends it in one request: a key of this lease
/// alone, so that a superseded writer can never replace bytes the item accepted.</param>
[GenerateSerializer, Immutable, Alias("MediaService.AppendGrant")]
public sealed record AppendGrant(
    [property: Id(0)] long Lease,
    [property: Id(1)] long Offset,
    [property: Id(2)] long? Length,
    [property: Id(3)] string StorageKey,
    [property: Id(4)] string? TailKey,
    [property: Id(5)] long TailSize,
    [property: Id(6)] int PartNumber,
    [property: Id(7)] bool MultipartOpen,
    [property: Id(8)] DateTimeOffset? ExpiresAt = null,
    [property: Id(9)] int PartCount = 0,
    [property: Id(10)] string PutKey = "");

/// <summary>The S3 multipart upload the grain opened for a writer.</summary>
[GenerateSerializer, Immutable, Alias("MediaService.MultipartTarget")]
public sealed record MultipartTarget(
    [property: Id(0)] string StorageKey,
    [property: Id(1)] string UploadId);

/// <summary>One part the writer has durably written to the S3 multipart upload.</summary>
/// <param name="PartNumber">The S3 part number the grain reserved for it.</param>
/// <param name="Size">Bytes in the part.</param>
/// <param name="ETag">The ETag S3 returned for the part.</param>
[GenerateSerializer, Immutable, Alias("MediaService.UploadedPart")]
public sealed record UploadedPart(
    [property: Id(0)] int PartNumber,
    [property: Id(1)] long Size,
    [property: Id(2)] string ETag);

/// <summary>Records a part the writer durably wrote.</summary>
/// <param name="Lease">The writer's lease.</param>
/// <param name="Part">The part.</param>
/// <param name="ConsumesTail">True when the part begins with the bytes of the current tail object.</param>
/// <param name="Final">True when the part ends the content (it may be under the part minimum).</param>
/// <param name="Staged">True while the body's checksum is unverified: recorded, but counted only once committed.</param>
/// <param name="Sha256">With the final part: lower-case hex SHA-256 of the whole content when the writer saw all of it.</param>
[GenerateSerializer, Immutable, Alias("MediaService.RecordPart")]
public sealed record RecordPart(
    [property: Id(0)] long Lease,
    [property: Id(1)] UploadedPart Part,
    [property: Id(2)] bool ConsumesTail,
    [property: Id(3)] bool Final,
    [property: Id(4)] bool Staged = false,
    [property: Id(5)] string? Sha256 = null);

/// <summary>Records bytes the writer stored as the new tail object (they include the previous tail's).</summary>
[GenerateSerializer, Immutable, Alias("MediaService.RecordTail")]
public sealed record RecordTail(
    [property: Id(0)] long Lease,
    [property: Id(1)] string TailKey,
    [property: Id(2)] long TailSize,
    [property: Id(3)] bool Staged = false);

/// <summary>The writer stored the whole content as one object under its lease's <see cref="AppendGrant.PutKey"/>.</summary>
/// <param name="Lease">The writer's lease.</param>
/// <param name="Key">The key it wrote (the grant's put key).</param>
/// <param name="Size">Bytes in the object: the whole content.</param>
/// <param name="ETag">The ETag S3 answered for the write; the grain checks that the store holds exactly that object.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the content when the writer saw all of it, else null.</param>
[GenerateSerializer, Immutable, Alias("MediaService.RecordSinglePut")]
public sealed record RecordSinglePut(
    [property: Id(0)] long Lease,
    [property: Id(1)] string Key,
    [property: Id(2)] long Size,
    [property: Id(3)] string ETag,
    [property: Id(4)] string? Sha256);

/// <summary>What the item holds after a writer's report.</summary>
/// <param name="Offset">The durable offset: every byte before it is in S3 and recorded.</param>
/// <param name="Stored">The item, once the report completed it and it is stored; null while it receives.</param>
[GenerateSerializer, Immutable, Alias("MediaService.AppendProgress")]
public sealed record AppendProgress(
    [property: Id(0)] long Offset,
    [property: Id(1)] MediaItemView? Stored);

/// <summary>What a client may know about a media item.</summary>
[GenerateSerializer, Immutable, Alias("MediaService.MediaItemView")]
public sealed record MediaItemView(
    [property: Id(0)] long Id,
    [property: Id(1)] string? FileName,
    [property: Id(2)] string ContentType,
    [property: Id(3)] long Size,
    [property: Id(4)] MediaStatus Status,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] DateTimeOffset UpdatedAt,
    [property: Id(7)] string? Sha256,
    [property: Id(8)] string? FailureReason,
    [property: Id(9)] long Offset,
    [property: Id(10)] long? Length,
    [property: Id(11)] string? UploadMetadata,
    [property: Id(12)] DateTimeOffset? ExpiresAt,
    [property: Id(13)] ConcatKind Concat,
    [property: Id(14)] ImmutableArray<long> ConcatParts,
    [property: Id(15)] ProcessingView? Processing = null,
    [property: Id(16)] long Version = 0,
    [property: Id(17)] Annotations? Annotations = null);

/// <summary>Where a stored item's bytes are, for the edge to stream them out of S3.</summary>
/// <param name="StorageKey">The object's key.</param>
/// <param name="Size">Bytes of content.</param>
/// <param name="ContentType">The type it is served with.</param>
/// <param name="ETag">A strong validator of the content (its SHA-256 when known, else the store's ETag).</param>
/// <param name="StoredAt">When it was stored.</param>
/// <param name="FileName">The original file name, for Content-Disposition.</param>
[GenerateSerializer, Immutable, Alias("MediaService.StoredContent")]
public sealed record StoredContent(
    [property: Id(0)] string StorageKey,
    [property: Id(1)] long Size,
    [property: Id(2)] string ContentType,
    [property: Id(3)] string ETag,
    [property: Id(4)] DateTimeOffset StoredAt,
    [property: Id(5)] string? FileName);
