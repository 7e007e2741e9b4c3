using System.Collections.Immutable;

namespace MediaService.Grains.Interfaces;

/// <summary>Asks a fresh id to become a media item that is about to receive its bytes.</summary>
/// <param name="FileName">The original file name the client gave, already sanitised by the edge, if any.</param>
/// <param name="DeclaredContentType">The media type the client declared; a hint, not a verdict.</param>
/// <param name="DeclaredLength">The total length when the client announced it, else null.</param>
[GenerateSerializer, Immutable, Alias("MediaService.CreateMediaItem")]
public sealed record CreateMediaItem(
    [property: Id(0)] string? FileName,
    [property: Id(1)] string DeclaredContentType,
    [property: Id(2)] long? DeclaredLength);

/// <summary>The answer to <see cref="CreateMediaItem"/>.</summary>
/// <param name="Created">False when the id already belongs to an item: the caller must pick another id.</param>
/// <param name="Lease">The write lease that every append must present; null when not created.</param>
/// <param name="StorageKey">The S3 key the bytes go to; null when not created.</param>
[GenerateSerializer, Immutable, Alias("MediaService.CreateMediaItemResult")]
public sealed record CreateMediaItemResult(
    [property: Id(0)] bool Created,
    [property: Id(1)] long Lease,
    [property: Id(2)] string? StorageKey);

/// <summary>The S3 multipart upload the grain opened for a writer.</summary>
[GenerateSerializer, Immutable, Alias("MediaService.MultipartTarget")]
public sealed record MultipartTarget(
    [property: Id(0)] string StorageKey,
    [property: Id(1)] string UploadId);

/// <summary>One part the writer has durably written to the S3 multipart upload.</summary>
/// <param name="PartNumber">1-based S3 part number.</param>
/// <param name="Size">Bytes in the part.</param>
/// <param name="ETag">The ETag S3 returned for the part.</param>
[GenerateSerializer, Immutable, Alias("MediaService.UploadedPart")]
public sealed record UploadedPart(
    [property: Id(0)] int PartNumber,
    [property: Id(1)] long Size,
    [property: Id(2)] string ETag);

/// <summary>The writer's claim that all bytes are written.</summary>
/// <param name="Lease">The writer's lease.</param>
/// <param name="Size">Total bytes the writer wrote.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of all bytes, computed while streaming.</param>
/// <param name="SinglePut">True when the bytes went to S3 as one PutObject rather than a multipart upload.</param>
[GenerateSerializer, Immutable, Alias("MediaService.CompleteUpload")]
public sealed record CompleteUpload(
    [property: Id(0)] long Lease,
    [property: Id(1)] long Size,
    [property: Id(2)] string Sha256,
    [property: Id(3)] bool SinglePut);

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
    [property: Id(8)] string? FailureReason);

/// <summary>Where a stored item's bytes are, for the edge to stream them out of S3.</summary>
[GenerateSerializer, Immutable, Alias("MediaService.StoredContent")]
public sealed record StoredContent(
    [property: Id(0)] string StorageKey,
    [property: Id(1)] long Size,
    [property: Id(2)] string ContentType,
    [property: Id(3)] string Sha256,
    [property: Id(4)] DateTimeOffset StoredAt);

/// <summary>
/// What the writer must tell S3 to assemble the object: the grain's own record of the parts, so that
/// whichever frontend completes the upload, S3 assembles exactly what the grain accepted.
/// </summary>
[GenerateSerializer, Immutable, Alias("MediaService.CompletionPlan")]
public sealed record CompletionPlan(
    [property: Id(0)] string StorageKey,
    [property: Id(1)] string? UploadId,
    [property: Id(2)] ImmutableArray<UploadedPart> Parts);
