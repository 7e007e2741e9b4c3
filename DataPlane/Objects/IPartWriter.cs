namespace MediaService.DataPlane.Objects;

/// <summary>
/// What the HTTP edge needs of S3 to move an upload's bytes under a lease its item's grain granted: whole objects
/// (single puts, tails), multipart parts, and a read-back of a tail it stitches onto the next part. It never deletes:
/// deciding an object's fate is the grain's (<see cref="IObjectLifecycle"/>).
/// </summary>
public interface IPartWriter
{
    /// <summary>True when a part can be sent while its bytes are still arriving.</summary>
    bool StreamsParts { get; }

    /// <summary>Stores a whole object in one request; returns the ETag the store answered.</summary>
    Task<string> PutAsync(string key, ArraySegment<byte> body, string contentType, CancellationToken cancellationToken);

    /// <summary>Uploads one part and returns its ETag; the same bytes under the same number replace the part.</summary>
    Task<string> UploadPartAsync(string key, string uploadId, int partNumber, ArraySegment<byte> body, CancellationToken cancellationToken);

    /// <summary>
    /// Uploads one part of exactly <paramref name="length"/> bytes that <paramref name="write"/> produces while they
    /// arrive (only when <see cref="StreamsParts"/>). Not retried: the store keeps no copy. A failing source surfaces as
    /// <see cref="PartSourceException"/>.
    /// </summary>
    Task<string> UploadPartStreamingAsync(
        string key, string uploadId, int partNumber, long length, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken);

    /// <summary>A whole small object written by an earlier request, read again while it shows fewer than
    /// <paramref name="expectedSize"/> bytes; returns the bytes read the last time.</summary>
    Task<int> ReadSmallAfterWriteAsync(string key, byte[] buffer, long expectedSize, CancellationToken cancellationToken);
}
