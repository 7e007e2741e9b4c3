namespace MediaService.DataPlane.Objects;

/// <summary>
/// What an item's owner (its grain) needs of S3 to decide the life of the item's objects: open and assemble the
/// multipart upload, confirm what a writer reported, and delete what is no longer the item's.
/// </summary>
public interface IObjectLifecycle
{
    /// <summary>Starts a multipart upload and returns its id. Not retried: each attempt would open another upload.</summary>
    Task<string> StartMultipartAsync(string key, string contentType, CancellationToken cancellationToken);

    /// <summary>Assembles the object from its parts, once per call; a failed assembly is settled by what the store then
    /// holds (<see cref="HeadAfterWriteAsync"/>), never repeated blindly.</summary>
    Task CompleteMultipartAsync(string key, string uploadId, IReadOnlyList<PartETag> parts, long size, CancellationToken cancellationToken);

    /// <summary>Releases the parts of an unfinished multipart upload; false when the store could not (best effort).</summary>
    Task<bool> TryAbortMultipartAsync(string key, string uploadId, CancellationToken cancellationToken);

    /// <summary>Deletes an object; deleting a missing object succeeds.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>Deletes every object under a prefix (at most a thousand), but those under <paramref name="except"/>.</summary>
    Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken, string? except = null);

    /// <summary>The head of an object just written with <paramref name="expectedSize"/> bytes, read again while it shows
    /// fewer; null when there is no object.</summary>
    Task<ObjectHead?> HeadAfterWriteAsync(string key, long expectedSize, CancellationToken cancellationToken);
}
