using System.Net;
using System.Security.Cryptography;
using Amazon.S3;
using MediaService.DataPlane;
using MediaService.DataPlane.Objects;

namespace MediaService.InProcessTests.Fakes;

/// <summary>The calls of the object store seams, for counting them and injecting faults.</summary>
public enum StoreOperation
{
    Put,
    UploadPart,
    UploadPartStreaming,
    ReadSmall,
    StartMultipart,
    CompleteMultipart,
    AbortMultipart,
    Delete,
    DeletePrefix,
    Head,
    OpenRead,
}

/// <summary>
/// An in-memory S3 behind the three seams of the data plane: objects are byte arrays with MD5 ETags, a multipart upload
/// keeps its parts by number (a part sent again replaces the earlier one), and completing it assembles the listed parts
/// in order under S3's multipart ETag, refusing unknown uploads, unknown or changed parts and parts under 5 MiB but the
/// last, as S3 does. Thread-safe. Faults: <see cref="FailNext"/> makes the next calls of an operation throw
/// <see cref="ObjectStoreUnavailableException"/>, as <see cref="MediaObjectStore"/> does when S3 does not answer.
/// </summary>
public sealed class FakeObjectStore : IPartWriter, IObjectLifecycle, IObjectReader
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, StoredObject> _objects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MultipartUpload> _uploads = new(StringComparer.Ordinal);
    private readonly List<Fault> _faults = [];
    private readonly List<Waiter> _waiters = [];
    private readonly Dictionary<StoreOperation, int> _calls = [];
    private long _nextUpload;

    /// <summary>The Retry-After an injected fault carries (what S3:BreakerBreakDuration gives in production).</summary>
    public TimeSpan FaultRetryAfter { get; set; } = TimeSpan.FromSeconds(15);

    /// <inheritdoc />
    public bool StreamsParts { get; set; } = true;

    /// <summary>Makes the next <paramref name="times"/> calls of <paramref name="operation"/> on a key that
    /// <paramref name="key"/> accepts (any key when null) throw <see cref="ObjectStoreUnavailableException"/>. A streamed
    /// part fails after its bytes were read, as when S3 drops the connection at the end of a part.</summary>
    public void FailNext(StoreOperation operation, int times = 1, Func<string, bool>? key = null)
    {
        lock (_lock)
        {
            _faults.Add(new Fault(operation, key ?? (_ => true)) { Remaining = times });
        }
    }

    /// <summary>Completes when a call of <paramref name="operation"/> on a key that <paramref name="key"/> accepts begins.</summary>
    public Task WhenCalledAsync(StoreOperation operation, Func<string, bool> key)
    {
        var waiter = new Waiter(operation, key, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_lock)
        {
            _waiters.Add(waiter);
        }

        return waiter.Called.Task;
    }

    /// <summary>How many calls of <paramref name="operation"/> began.</summary>
    public int Calls(StoreOperation operation)
    {
        lock (_lock)
        {
            return _calls.GetValueOrDefault(operation);
        }
    }

    /// <summary>The keys of every stored object.</summary>
    public IReadOnlyList<string> Keys()
    {
        lock (_lock)
        {
            return [.. _objects.Keys.Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>The keys of the stored objects under <paramref name="prefix"/>.</summary>
    public IReadOnlyList<string> KeysUnder(string prefix) => [.. Keys().Where(k => k.StartsWith(prefix, StringComparison.Ordinal))];

    /// <summary>A copy of an object's bytes, or null when there is none.</summary>
    public byte[]? Bytes(string key)
    {
        lock (_lock)
        {
            return _objects.TryGetValue(key, out var stored) ? [.. stored.Data] : null;
        }
    }

    /// <summary>The multipart uploads opened and neither completed nor aborted, for keys under <paramref name="prefix"/>.</summary>
    public int OpenUploadsUnder(string prefix)
    {
        lock (_lock)
        {
            return _uploads.Values.Count(u => u.Key.StartsWith(prefix, StringComparison.Ordinal));
        }
    }

    /// <summary>Forgets the open multipart uploads under <paramref name="prefix"/> and their parts, as a store's lifecycle
    /// rule or an operator would; returns how many.</summary>
    public int LoseUploadsUnder(string prefix)
    {
        lock (_lock)
        {
            var lost = _uploads.Where(u => u.Value.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(u => u.Key).ToList();
            lost.ForEach(id => _uploads.Remove(id));
            return lost.Count;
        }
    }

    /// <summary>The quoted MD5 ETag S3 gives an object stored in one request.</summary>
    public static string ETagOf(ReadOnlySpan<byte> data) => $"\"{Convert.ToHexStringLower(MD5.HashData(data))}\"";

    /// <inheritdoc />
    public Task<string> PutAsync(string key, ArraySegment<byte> body, string contentType, CancellationToken cancellationToken)
    {
        Begin(StoreOperation.Put, key, cancellationToken);
        var data = body.AsSpan().ToArray();
        var etag = ETagOf(data);
        lock (_lock)
        {
            _objects[key] = new StoredObject(data, etag, contentType);
        }

        return Task.FromResult(etag);
    }

    /// <inheritdoc />
    public Task<string> UploadPartAsync(string key, string uploadId, int partNumber, ArraySegment<byte> body, CancellationToken cancellationToken)
    {
        Begin(StoreOperation.UploadPart, key, cancellationToken);
        return Task.FromResult(StorePart(key, uploadId, partNumber, body.AsSpan().ToArray()));
    }

    /// <inheritdoc />
    public async Task<string> UploadPartStreamingAsync(
        string key, string uploadId, int partNumber, long length, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        if (!StreamsParts)
        {
            throw new InvalidOperationException("Streamed parts need S3:PresignedParts.");
        }

        var fault = Begin(StoreOperation.UploadPartStreaming, key, cancellationToken, deferFault: true);
        using var received = new MemoryStream();
        await write(received, cancellationToken);
        if (fault is not null)
        {
            throw fault;
        }

        if (received.Length != length)
        {
            // S3 refuses a body shorter or longer than its Content-Length.
            throw new AmazonS3Exception($"Part {partNumber} of {key} carried {received.Length} bytes, not {length}.")
            {
                ErrorCode = "IncompleteBody",
                StatusCode = HttpStatusCode.BadRequest,
            };
        }

        return StorePart(key, uploadId, partNumber, received.ToArray());
    }

    /// <inheritdoc />
    public Task<int> ReadSmallAfterWriteAsync(string key, byte[] buffer, long expectedSize, CancellationToken cancellationToken)
    {
        Begin(StoreOperation.ReadSmall, key, cancellationToken);
        lock (_lock)
        {
            var stored = _objects.GetValueOrDefault(key) ?? throw NoSuchKey(key);
            if (stored.Data.Length > buffer.Length)
            {
                throw new InvalidDataException($"{key} holds {stored.Data.Length} bytes, more than {buffer.Length}.");
            }

            stored.Data.CopyTo(buffer, 0);
            return Task.FromResult(stored.Data.Length);
        }
    }

    /// <inheritdoc />
    public Task<string> StartMultipartAsync(string key, string contentType, CancellationToken cancellationToken)
    {
        Begin(StoreOperation.StartMultipart, key, cancellationToken);
        lock (_lock)
        {
            var id = $"upload-{++_nextUpload:D6}";
            _uploads[id] = new MultipartUpload(key, contentType);
            return Task.FromResult(id);
        }
    }

    /// <inheritdoc />
    public Task CompleteMultipartAsync(string key, string uploadId, IReadOnlyList<PartETag> parts, long size, CancellationToken cancellationToken)
    {
        Begin(StoreOperation.CompleteMultipart, key, cancellationToken);
        lock (_lock)
        {
            if (!_uploads.TryGetValue(uploadId, out var upload) || upload.Key != key)
            {
                throw S3Error("NoSuchUpload", HttpStatusCode.NotFound, $"No multipart upload {uploadId} of {key}.");
            }

            if (parts.Count == 0)
            {
                throw S3Error("MalformedXML", HttpStatusCode.BadRequest, "A completion lists at least one part.");
            }

            using var assembled = new MemoryStream();
            var etags = new List<string>(parts.Count);
            for (var i = 0; i < parts.Count; i++)
            {
                var listed = parts[i];
                if (i > 0 && listed.PartNumber <= parts[i - 1].PartNumber)
                {
                    throw S3Error("InvalidPartOrder", HttpStatusCode.BadRequest, "Parts must be listed in ascending order.");
                }

                if (!upload.Parts.TryGetValue(listed.PartNumber, out var part) || part.ETag != Quoted(listed.ETag))
                {
                    throw S3Error("InvalidPart", HttpStatusCode.BadRequest, $"Part {listed.PartNumber} of {key} is not the one listed.");
                }

                if (i < parts.Count - 1 && part.Data.Length < S3Options.MinPartSizeBytes)
                {
                    throw S3Error("EntityTooSmall", HttpStatusCode.BadRequest, $"Part {listed.PartNumber} of {key} has {part.Data.Length} bytes.");
                }

                assembled.Write(part.Data);
                etags.Add(part.ETag);
            }

            _objects[key] = new StoredObject(assembled.ToArray(), Quoted(MultipartETag.Compute(etags)!), upload.ContentType);
            _uploads.Remove(uploadId);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<bool> TryAbortMultipartAsync(string key, string uploadId, CancellationToken cancellationToken)
    {
        try
        {
            Begin(StoreOperation.AbortMultipart, key, cancellationToken);
        }
        catch (ObjectStoreUnavailableException)
        {
            return Task.FromResult(false);
        }

        lock (_lock)
        {
            _uploads.Remove(uploadId);
        }

        return Task.FromResult(true);
    }

    /// <inheritdoc />
    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        Begin(StoreOperation.Delete, key, cancellationToken);
        lock (_lock)
        {
            _objects.Remove(key);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken, string? except = null)
    {
        Begin(StoreOperation.DeletePrefix, prefix, cancellationToken);
        lock (_lock)
        {
            foreach (var key in _objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).Take(1000).ToList())
            {
                if (except is null || !key.StartsWith(except, StringComparison.Ordinal))
                {
                    _objects.Remove(key);
                }
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<ObjectHead?> HeadAfterWriteAsync(string key, long expectedSize, CancellationToken cancellationToken)
    {
        Begin(StoreOperation.Head, key, cancellationToken);
        lock (_lock)
        {
            return Task.FromResult(_objects.TryGetValue(key, out var stored) ? new ObjectHead(stored.Data.Length, stored.ETag) : null);
        }
    }

    /// <inheritdoc />
    public Task<ObjectRead> OpenReadAsync(string key, long from, long to, CancellationToken cancellationToken)
    {
        Begin(StoreOperation.OpenRead, key, cancellationToken);
        lock (_lock)
        {
            var stored = _objects.GetValueOrDefault(key) ?? throw NoSuchKey(key);
            if (from < 0 || from > to || from >= stored.Data.Length)
            {
                throw S3Error("InvalidRange", HttpStatusCode.RequestedRangeNotSatisfiable, $"bytes={from}-{to} of {key} ({stored.Data.Length} bytes).");
            }

            var last = Math.Min(to, stored.Data.Length - 1);
            var slice = stored.Data.AsSpan((int)from, (int)(last - from + 1)).ToArray();
            return Task.FromResult(new ObjectRead(new MemoryStream(slice, writable: false), slice.Length));
        }
    }

    private string StorePart(string key, string uploadId, int partNumber, byte[] data)
    {
        if (partNumber is < 1 or > S3Options.MaxPartCount)
        {
            throw S3Error("InvalidArgument", HttpStatusCode.BadRequest, $"Part number {partNumber} is not between 1 and 10000.");
        }

        var etag = ETagOf(data);
        lock (_lock)
        {
            if (!_uploads.TryGetValue(uploadId, out var upload) || upload.Key != key)
            {
                throw S3Error("NoSuchUpload", HttpStatusCode.NotFound, $"No multipart upload {uploadId} of {key}.");
            }

            upload.Parts[partNumber] = new StoredObject(data, etag, upload.ContentType);
        }

        return etag;
    }

    // Counts the call, wakes its waiters, and throws an injected fault (or returns it, for a streamed part).
    private ObjectStoreUnavailableException? Begin(StoreOperation operation, string key, CancellationToken cancellationToken, bool deferFault = false)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectStoreUnavailableException? failure = null;
        List<Waiter> woken;
        lock (_lock)
        {
            _calls[operation] = _calls.GetValueOrDefault(operation) + 1;
            woken = [.. _waiters.Where(w => w.Operation == operation && w.Key(key))];
            _waiters.RemoveAll(woken.Contains);
            if (_faults.FirstOrDefault(f => f.Operation == operation && f.Remaining > 0 && f.Key(key)) is { } fault)
            {
                fault.Remaining--;
                failure = new ObjectStoreUnavailableException(
                    $"The object store did not answer ({operation.ToString().ToLowerInvariant()}).", FaultRetryAfter, new IOException("Injected fault."));
            }
        }

        foreach (var waiter in woken)
        {
            waiter.Called.TrySetResult();
        }

        return failure is not null && !deferFault ? throw failure : failure;
    }

    private static string Quoted(string? etag) => $"\"{etag?.Trim('"')}\"";

    private static AmazonS3Exception NoSuchKey(string key) => S3Error("NoSuchKey", HttpStatusCode.NotFound, $"No object {key}.");

    private static AmazonS3Exception S3Error(string code, HttpStatusCode status, string message) =>
        new(message) { ErrorCode = code, StatusCode = status };

    private sealed record StoredObject(byte[] Data, string ETag, string ContentType);

    private sealed record MultipartUpload(string Key, string ContentType)
    {
        public Dictionary<int, StoredObject> Parts { get; } = [];
    }

    private sealed record Fault(StoreOperation Operation, Func<string, bool> Key)
    {
        public int Remaining { get; set; }
    }

    private sealed record Waiter(StoreOperation Operation, Func<string, bool> Key, TaskCompletionSource Called);
}
