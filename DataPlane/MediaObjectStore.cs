using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Registry;

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

/// <summary>
/// The S3 data plane used by the HTTP edge (parts, puts, ranged reads) and by grains (assembly checks,
/// cleanup). Every call goes through the <see cref="Resilience.S3"/> pipeline; only idempotent calls
/// are retried. Bodies are sent without aws-chunked framing (s3rver stores the framing as data) and
/// with checksums only where required, settings that real S3 accepts as well.
/// </summary>
public sealed partial class MediaObjectStore(
    IAmazonS3 s3,
    IOptions<S3Options> options,
    ResiliencePipelineProvider<string> pipelines,
    ILogger<MediaObjectStore> logger)
{
    private readonly S3Options _options = options.Value;
    private readonly ResiliencePipeline _pipeline = pipelines.GetPipeline(Resilience.S3);

    /// <summary>The bucket every key lives in.</summary>
    public string Bucket => _options.Bucket;

    /// <summary>Stores a whole object in one request.</summary>
    public Task PutAsync(string key, ArraySegment<byte> body, string contentType, CancellationToken cancellationToken) =>
        RunAsync("put", idempotent: true, null, ct =>
            PutStreamAsync(key, new MemoryStream(body.Array!, body.Offset, body.Count, writable: false), contentType, ct), cancellationToken);

    /// <summary>Writes a local file as one object (renditions). Retried: each attempt reopens the file.</summary>
    public Task PutFileAsync(string key, string path, string contentType, CancellationToken cancellationToken) =>
        RunAsync("put-file", idempotent: true, _options.CompleteTimeout, ct =>
            PutStreamAsync(key, new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous), contentType, ct),
            cancellationToken);

    // One PutObject of a stream the call owns (and disposes): never aws-chunked, which s3rver would store as content.
    private async Task PutStreamAsync(string key, Stream body, string contentType, CancellationToken cancellationToken)
    {
        await using (body)
        {
            await s3.PutObjectAsync(new PutObjectRequest
            {
                BucketName = Bucket,
                Key = key,
                InputStream = body,
                AutoCloseStream = false,
                ContentType = contentType,
                UseChunkEncoding = false,
            }, cancellationToken);
        }
    }

    /// <summary>Copies an object into a local file, which must then hold exactly <paramref name="size"/> bytes.
    /// Retried: each attempt starts the file over.</summary>
    public Task DownloadToFileAsync(string key, long size, string path, CancellationToken cancellationToken) =>
        RunAsync("download", idempotent: true, _options.CompleteTimeout, async ct =>
        {
            await using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous);
            if (size > 0)
            {
                using var response = await s3.GetObjectAsync(new GetObjectRequest { BucketName = Bucket, Key = key }, ct);
                await response.ResponseStream.CopyToAsync(file, 81920, ct);
            }

            if (file.Length != size)
            {
                throw new InvalidDataException($"{key} holds {file.Length} bytes, not {size}.");
            }
        }, cancellationToken);

    /// <summary>Starts a multipart upload and returns its id. Not retried: each attempt would open another upload.</summary>
    public Task<string> StartMultipartAsync(string key, string contentType, CancellationToken cancellationToken) =>
        RunAsync("create-multipart", idempotent: false, null, async ct =>
        {
            var response = await s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest
            {
                BucketName = Bucket,
                Key = key,
                ContentType = contentType,
            }, ct);
            return response.UploadId;
        }, cancellationToken);

    /// <summary>Uploads one part and returns its ETag. Retried: the same bytes under the same number replace the part.</summary>
    public Task<string> UploadPartAsync(string key, string uploadId, int partNumber, ArraySegment<byte> body, CancellationToken cancellationToken) =>
        RunAsync("upload-part", idempotent: true, null, async ct =>
        {
            using var stream = new MemoryStream(body.Array!, body.Offset, body.Count, writable: false);
            var response = await s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = Bucket,
                Key = key,
                UploadId = uploadId,
                PartNumber = partNumber,
                PartSize = body.Count,
                InputStream = stream,
                UseChunkEncoding = false,
            }, ct);
            return response.ETag;
        }, cancellationToken);

    /// <summary>Assembles the object from its parts. Retried: completing the same parts again yields the same object.</summary>
    public Task CompleteMultipartAsync(string key, string uploadId, IReadOnlyList<PartETag> parts, CancellationToken cancellationToken) =>
        RunAsync("complete-multipart", idempotent: true, _options.CompleteTimeout, async ct =>
        {
            await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = Bucket,
                Key = key,
                UploadId = uploadId,
                PartETags = [.. parts.Select(p => new Amazon.S3.Model.PartETag(p.PartNumber, p.ETag))],
            }, ct);
        }, cancellationToken);

    /// <summary>Releases the parts of an unfinished multipart upload. Best effort: some servers (s3rver)
    /// do not implement it, and an upload that cannot be aborted is left to the bucket's lifecycle rules.</summary>
    public async Task<bool> TryAbortMultipartAsync(string key, string uploadId, CancellationToken cancellationToken)
    {
        try
        {
            await RunAsync("abort-multipart", idempotent: true, null, async ct =>
            {
                await s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = Bucket, Key = key, UploadId = uploadId }, ct);
            }, cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is AmazonS3Exception or ObjectStoreUnavailableException)
        {
            LogAbortFailed(logger, key, ex.Message);
            return false;
        }
    }

    /// <summary>Deletes an object; deleting a missing object succeeds.</summary>
    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        RunAsync("delete", idempotent: true, null, async ct =>
        {
            await s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = key }, ct);
        }, cancellationToken);

    /// <summary>The object's size and ETag, or null when it does not exist.</summary>
    public Task<ObjectHead?> HeadAsync(string key, CancellationToken cancellationToken) =>
        RunAsync<ObjectHead?>("head", idempotent: true, null, async ct =>
        {
            try
            {
                var response = await s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = Bucket, Key = key }, ct);
                return new ObjectHead(response.ContentLength, response.ETag);
            }
            catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
        }, cancellationToken);

    /// <summary>
    /// The head of an object just written with <paramref name="expectedSize"/> bytes, read again while it shows fewer
    /// (see <see cref="AfterWriteAsync"/>). The last head read is returned, whatever it shows.
    /// </summary>
    public Task<ObjectHead?> HeadAfterWriteAsync(string key, long expectedSize, CancellationToken cancellationToken) =>
        AfterWriteAsync(ct => HeadAsync(key, ct), head => head is not null && head.Size >= expectedSize, cancellationToken);

    /// <summary>A whole small object written by an earlier request, read again while it shows fewer than
    /// <paramref name="expectedSize"/> bytes; returns the bytes read the last time.</summary>
    public Task<int> ReadSmallAfterWriteAsync(string key, byte[] buffer, long expectedSize, CancellationToken cancellationToken) =>
        AfterWriteAsync(ct => ReadSmallAsync(key, buffer, ct), read => read >= expectedSize, cancellationToken);

    // S3 is read-after-write consistent; s3rver answers a PUT before its file is complete, so a read right after it can
    // see fewer bytes. Such a read is repeated up to S3:ReadAfterWriteRetries times, S3:ReadAfterWriteDelay apart.
    private async Task<T> AfterWriteAsync<T>(Func<CancellationToken, Task<T>> read, Func<T, bool> complete, CancellationToken cancellationToken)
    {
        var result = await read(cancellationToken);
        for (var retry = 0; retry < _options.ReadAfterWriteRetries && !complete(result); retry++)
        {
            await Task.Delay(_options.ReadAfterWriteDelay, cancellationToken);
            result = await read(cancellationToken);
        }

        return result;
    }

    /// <summary>Reads a whole small object (a tail) into <paramref name="buffer"/>; returns the bytes read.</summary>
    public Task<int> ReadSmallAsync(string key, byte[] buffer, CancellationToken cancellationToken) =>
        RunAsync("get-small", idempotent: true, null, async ct =>
        {
            using var response = await s3.GetObjectAsync(new GetObjectRequest { BucketName = Bucket, Key = key }, ct);
            if (response.ContentLength > buffer.Length)
            {
                throw new InvalidDataException($"{key} holds {response.ContentLength} bytes, more than {buffer.Length}.");
            }

            var read = 0;
            int n;
            while ((n = await response.ResponseStream.ReadAsync(buffer.AsMemory(read), ct)) > 0)
            {
                read += n;
            }

            return read;
        }, cancellationToken);

    /// <summary>Deletes every object under a prefix (at most a thousand: tails and leftovers of one item), but those
    /// under <c>except</c> when given.</summary>
    public Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken, string? except = null) =>
        RunAsync("delete-prefix", idempotent: true, null, async ct =>
        {
            var listing = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, Prefix = prefix, MaxKeys = 1000 }, ct);
            foreach (var item in listing.S3Objects ?? [])
            {
                if (except is not null && item.Key.StartsWith(except, StringComparison.Ordinal))
                {
                    continue;
                }

                await s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = item.Key }, ct);
            }
        }, cancellationToken);

    /// <summary>Opens bytes <paramref name="from"/> to <paramref name="to"/> (inclusive) of an object.
    /// Callers pass absolute ranges only: some servers get suffix ranges wrong.</summary>
    public Task<ObjectRead> OpenReadAsync(string key, long from, long to, CancellationToken cancellationToken) =>
        RunAsync("get", idempotent: true, null, async ct =>
        {
            var response = await s3.GetObjectAsync(new GetObjectRequest
            {
                BucketName = Bucket,
                Key = key,
                ByteRange = new ByteRange(from, to),
            }, ct);
            var expected = to - from + 1;
            if (response.ContentLength == expected)
            {
                return new ObjectRead(response.ResponseStream, expected);
            }

            if (response.ContentLength > to)
            {
                // The server ignored the range and sent the object from its start (s3rver does so for
                // bytes=0-0, even with a 206): cut the range out of it here.
                return new ObjectRead(new SliceReadStream(response.ResponseStream, from, expected), expected);
            }

            response.Dispose();
            throw new InvalidDataException($"The store answered {response.ContentLength} bytes for bytes {from}-{to} of {key}.");
        }, cancellationToken);

    /// <summary>Checks that the bucket answers (for readiness). Lists an empty prefix: a truncated
    /// ListObjectsV2 answer makes s3rver fail with 500, and an empty listing still proves the bucket exists.</summary>
    public Task ProbeAsync(CancellationToken cancellationToken) =>
        RunAsync("probe", idempotent: true, null, async ct =>
        {
            await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, Prefix = "health-probe/", MaxKeys = 1 }, ct);
        }, cancellationToken);

    private async Task RunAsync(string operation, bool idempotent, TimeSpan? attemptTimeout, Func<CancellationToken, Task> call, CancellationToken cancellationToken) =>
        await RunAsync<bool>(operation, idempotent, attemptTimeout, async ct => { await call(ct); return true; }, cancellationToken);

    private async Task<T> RunAsync<T>(string operation, bool idempotent, TimeSpan? attemptTimeout, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(operation, cancellationToken);
        context.Properties.Set(Resilience.Idempotent, idempotent);
        if (attemptTimeout is { } timeout)
        {
            context.Properties.Set(Resilience.AttemptTimeout, timeout);
        }

        try
        {
            return await _pipeline.ExecuteAsync(static async (ctx, state) => await state(ctx.CancellationToken), context, call);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && Resilience.IsUnavailable(ex))
        {
            var retryAfter = ex is BrokenCircuitException broken && broken.RetryAfter is { } after ? after : _options.BreakerBreakDuration;
            LogUnavailable(logger, operation, ex.GetType().Name, ex.Message);
            throw new ObjectStoreUnavailableException($"The object store did not answer ({operation}).", retryAfter, ex);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "S3 {Operation} failed: {ExceptionType}: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string operation, string exceptionType, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Could not abort multipart upload of {Key}: {Reason}")]
    private static partial void LogAbortFailed(ILogger logger, string key, string reason);
}
