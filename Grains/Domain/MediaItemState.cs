using System.Collections.Immutable;
using MediaService.Grains.Interfaces;

namespace MediaService.Grains.Domain;

/// <summary>
/// The persisted state of one media item. Immutable: every transition returns a new value, so a grain
/// only ever persists a state the domain accepted. Serialized by the Orleans serializer into PostgreSQL:
/// never reorder or reuse an <see cref="IdAttribute"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("MediaService.MediaItemState")]
public sealed record MediaItemState
{
    /// <summary>The state of an id that holds no item.</summary>
    public static readonly MediaItemState Empty = new();

    [Id(0)] public MediaStatus Status { get; init; }
    [Id(1)] public string? FileName { get; init; }
    [Id(2)] public string ContentType { get; init; } = "application/octet-stream";

    /// <summary>The total length, once known (tus: Upload-Length, possibly deferred).</summary>
    [Id(3)] public long? DeclaredLength { get; init; }
    [Id(4)] public DateTimeOffset CreatedAt { get; init; }
    [Id(5)] public DateTimeOffset UpdatedAt { get; init; }
    [Id(6)] public string? StorageKey { get; init; }
    [Id(7)] public string? MultipartUploadId { get; init; }

    /// <summary>Parts durably written to the multipart upload, in ascending part number. Bounded by S3's 10,000.</summary>
    [Id(8)] public ImmutableArray<UploadedPart> Parts { get; init; } = [];

    /// <summary>The current writer's generation; a writer presenting another one is stale.</summary>
    [Id(9)] public long Lease { get; init; }

    /// <summary>Bytes in the recorded parts, or the final size once stored.</summary>
    [Id(10)] public long Size { get; init; }
    [Id(11)] public string? Sha256 { get; init; }
    [Id(12)] public string? FailureReason { get; init; }
    [Id(13)] public DateTimeOffset? StoredAt { get; init; }

    /// <summary>The client's tus Upload-Metadata, as sent.</summary>
    [Id(14)] public string? UploadMetadata { get; init; }

    /// <summary>When an unfinished resumable upload expires; null for one-shot uploads and finished items.</summary>
    [Id(15)] public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>The object holding the bytes after the last part, if any.</summary>
    [Id(16)] public string? TailKey { get; init; }
    [Id(17)] public long TailSize { get; init; }

    /// <summary>The highest part number handed out; numbers are never handed out twice.</summary>
    [Id(18)] public int ReservedPartNumber { get; init; }

    /// <summary>The first part number handed out to the current writer: it may use only numbers from there on.</summary>
    [Id(23)] public int LeaseFirstPartNumber { get; init; }

    /// <summary>The store's ETag of the final object, recorded when stored.</summary>
    [Id(19)] public string? ObjectETag { get; init; }

    /// <summary>
    /// What the item will be once the current writer's checksummed body is verified (tus checksum): parts and tail
    /// recorded, not yet counted in the offset. Committed by <see cref="MediaItemLifecycle.Commit"/>; dropped when
    /// another append begins.
    /// </summary>
    [Id(20)] public MediaItemState? Staged { get; init; }

    /// <summary>The item's role in tus concatenation.</summary>
    [Id(21)] public ConcatKind Concat { get; init; }

    /// <summary>For a final upload, its partial uploads in order. Bounded by <see cref="MediaItemLifecycle.MaxConcatParts"/>.</summary>
    [Id(22)] public ImmutableArray<long> ConcatParts { get; init; } = [];

    /// <summary>Processing of the stored content: started in the same write that marks the item stored.</summary>
    [Id(24)] public ProcessingState? Processing { get; init; }

    /// <summary>Counts the item's persisted changes: the version its metadata ETag names.</summary>
    [Id(25)] public long Version { get; init; }

    /// <summary>Title, description, tags, keywords and custom fields.</summary>
    [Id(26)] public Annotations Annotations { get; init; } = Annotations.Empty;

    /// <summary>Who created the item: only they can see or change it. Empty for items made inside the cluster.</summary>
    [Id(27)] public string? Owner { get; init; }

    /// <summary>
    /// The highest part number that may have been handed out. Part numbers are handed out in memory, under this ceiling,
    /// and the ceiling is raised durably (in blocks) before any number above it is: an activation that starts again
    /// starts from here, so a number is never handed out twice, whatever crashed.
    /// </summary>
    [Id(28)] public int PartNumberCeiling { get; init; }

    /// <summary>For one-shot uploads: how long the item may go without durable progress before it expires (each part or
    /// tail recorded moves <see cref="ExpiresAt"/>). Null for resumable uploads, whose expiry is fixed at creation.</summary>
    [Id(29)] public TimeSpan? SlidingExpiry { get; init; }

    /// <summary>While <see cref="MediaStatus.Completing"/>: the content's SHA-256 that the final writer reported, if any.</summary>
    [Id(30)] public string? PendingSha256 { get; init; }

    /// <summary>
    /// Events of changes already written, not yet handed to the delivery queue (<see cref="MediaEventRules"/>): each was
    /// born in the write of its change. In version order; at most <see cref="MediaEventRules.MaxOutbox"/>.
    /// </summary>
    [Id(31)] public ImmutableArray<MediaEvent> Outbox { get; init; } = [];

    /// <summary>True when this id holds an item, in any state.</summary>
    public bool Exists => Status != MediaStatus.None;

    /// <summary>Bytes durably received: the parts plus the tail.</summary>
    public long Offset => Status is MediaStatus.Stored or MediaStatus.Completing ? Size : Size + TailSize;
}
