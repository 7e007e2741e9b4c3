namespace MediaService.Grains.Interfaces;

/// <summary>The upload facet of a media item: creating it, appending under a lease, recording what writers stored in S3, finishing, abandoning and terminating. Writers append under an <see cref="AppendGrant"/>: a call carrying a revoked lease is refused with <see cref="MediaErrorCode.StaleWriter"/>.</summary>
[Alias("MediaService.IMediaUpload")]
public interface IMediaUpload : IGrainWithIntegerKey
{
    /// <summary>
    /// Turns this id into a new item in <see cref="MediaStatus.Receiving"/>. Refuses (Created = false)
    /// when the id already holds an item, in any state: ids are never reused.
    /// </summary>
    [Alias("Create")]
    Task<CreateMediaItemResult> CreateAsync(CreateMediaItem request);

    /// <summary>
    /// Starts an append at the item's durable offset, revoking any earlier writer's lease (a newer request
    /// takes over from an older one that may be gone). Refuses a wrong offset
    /// (<see cref="MediaErrorCode.OffsetMismatch"/>), a finished item, and an expired or terminated one
    /// (<see cref="MediaErrorCode.Gone"/>).
    /// </summary>
    [Alias("BeginAppend")]
    Task<AppendGrant> BeginAppendAsync(BeginAppend request);

    /// <summary>
    /// Revokes the current writer's lease without granting a new one, and returns the item's view: an offset
    /// retrieval of the IETF draft, whose answer must be accepted by the next append ("the server MUST NOT send outdated
    /// information"), so a request the client gave up on cannot move the offset after it was reported. Nothing durable
    /// is lost: what the revoked writer recorded stays, what it sends later is refused as stale. Null when there is no
    /// item; an item that is not receiving is returned unchanged.
    /// </summary>
    [Alias("FenceWriters")]
    Task<MediaItemView?> FenceWritersAsync();

    /// <summary>Opens the S3 multipart upload for the item (once; later calls return the same target).</summary>
    [Alias("OpenMultipart")]
    Task<MultipartTarget> OpenMultipartAsync(long lease);

    /// <summary>Hands the writer more part numbers, to send several parts at once; returns the first of <paramref name="count"/>.</summary>
    [Alias("ReserveParts")]
    Task<int> ReservePartsAsync(long lease, int count);

    /// <summary>
    /// Records a part the writer durably wrote to S3 (parts are recorded in ascending number) and returns the durable
    /// offset. The final part moves the item to <see cref="MediaStatus.Completing"/> in the same durable step, and the
    /// grain then assembles and verifies the object in S3 itself before it answers: the answer carries the stored item,
    /// or only the offset when S3 could not finish now (the grain finishes it later by itself).
    /// </summary>
    [Alias("RecordPart")]
    [ResponseTimeout("00:15:00")]
    Task<AppendProgress> RecordPartAsync(RecordPart request);

    /// <summary>Records a new tail object and returns the durable offset; the grain deletes the tail it replaces. A refused
    /// writer's tail object is deleted too.</summary>
    [Alias("RecordTail")]
    Task<long> RecordTailAsync(RecordTail request);

    /// <summary>
    /// Records the whole content, written by the writer as one object under its lease's put key: the grain checks in S3
    /// that the object holds exactly the reported size and ETag, and only then marks the item stored. A refused writer's
    /// object is deleted, so a superseded writer can never replace what the item serves.
    /// </summary>
    [Alias("RecordSinglePut")]
    Task<MediaItemView> RecordSinglePutAsync(RecordSinglePut request);

    /// <summary>Counts what the writer recorded as staged (its body's checksum matched); completes the item as
    /// <see cref="RecordPartAsync"/> does when what was staged ends the content.</summary>
    [Alias("Commit")]
    [ResponseTimeout("00:15:00")]
    Task<AppendProgress> CommitAsync(long lease);

    /// <summary>
    /// Finishes a completion left unfinished (<see cref="MediaStatus.Completing"/>): assembles the object in S3 if that has
    /// not happened, settles an assembly that already ran by checking the object's size and ETag, and marks the item
    /// stored. Returns the item's view afterwards (still completing when S3 could not finish now), or null when there is
    /// no item. Any caller may ask; it changes nothing for an item in another state.
    /// </summary>
    [Alias("FinishCompletion")]
    [ResponseTimeout("00:15:00")]
    Task<MediaItemView?> FinishCompletionAsync();

    /// <summary>Ends an upload that cannot finish; the item becomes failed and its partial bytes are released.</summary>
    [Alias("Abandon")]
    Task AbandonAsync(long lease, string reason);

    /// <summary>Ends an unfinished resumable upload at the client's request (tus termination) and frees its storage.</summary>
    [Alias("Terminate")]
    Task TerminateAsync();
}
