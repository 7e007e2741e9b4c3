namespace MediaService.DataPlane;

/// <summary>A part of a multipart upload as S3 needs it to assemble the object.</summary>
public readonly record struct PartETag(int PartNumber, string ETag);

/// <summary>What the store says of an object.</summary>
public sealed record ObjectHead(long Size, string? ETag);

/// <summary>An object opened for reading, with the bytes S3 will send.</summary>
public sealed record ObjectRead(Stream Body, long Length) : IAsyncDisposable
{
    /// <inheritdoc />
    public ValueTask DisposeAsync() => Body.DisposeAsync();
}

/// <summary>The object store did not answer: the caller may retry after <see cref="RetryAfter"/>.</summary>
public sealed class ObjectStoreUnavailableException(string message, TimeSpan retryAfter, Exception inner)
    : Exception(message, inner)
{
    /// <summary>When a retry has a chance.</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>The bytes of a streamed part could not be read from their source (typically: the client went away). The
/// part was not stored; this says nothing about the object store's health.</summary>
public sealed class PartSourceException(Exception inner) : Exception($"The part's source failed: {inner.Message}", inner);
