namespace MediaService.Grains.Interfaces;

/// <summary>The lifecycle of a media item. Values are persisted: never renumber them.</summary>
[GenerateSerializer]
[Alias("MediaService.MediaStatus")]
public enum MediaStatus
{
    /// <summary>No item exists under this id.</summary>
    None = 0,

    /// <summary>The item exists and bytes are being received; nothing is readable yet.</summary>
    Receiving = 1,

    /// <summary>Every byte is durably in S3 and verified: the content can be read.</summary>
    Stored = 2,

    /// <summary>The upload ended without storing the item (S3 failure, client gone, bad input).</summary>
    Failed = 3,

    /// <summary>A resumable upload that was not finished before its expiry; its partial bytes are released.</summary>
    Expired = 4,

    /// <summary>A resumable upload the client terminated; its bytes are released.</summary>
    Terminated = 5,

    /// <summary>The item was deleted: it answers as if it never existed, and its bytes and index entry are removed.</summary>
    Deleted = 6,

    /// <summary>Every byte is durably in S3 as parts and the item is being assembled and verified there. Reached in the
    /// same durable step that records the last byte; the item's grain finishes it by itself (a reminder and every read
    /// of the upload drive it), so an item never stays here. Nothing is readable yet, and no offset equal to the length
    /// is reported until the item is <see cref="Stored"/>.</summary>
    Completing = 7,
}
