using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Registry;
using Polly.Timeout;
using MediaService.DataPlane.Objects;

namespace MediaService.DataPlane;

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
    ILogger<MediaObjectStore> logger) : IPartWriter, IObjectLifecycle, IObjectReader, IDisposable
{
    private readonly S3Options _options = options.Value;
    private readonly ResiliencePipeline _pipeline = pipelines.GetPipeline(Resilience.S3);

    // Presigned part requests go through a client of their own: the SDK cannot send an unsigned payload over plain
    // HTTP, nor a body it does not hold yet. Timeouts are the pipeline's (and, for streamed parts, the store's own).
    private readonly HttpClient _parts = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2), ConnectTimeout = options.Value.ConnectTimeout })
    {
        Timeout = Timeout.InfiniteTimeSpan,
        MaxResponseContentBufferSize = 1024 * 1024,
    };

    private readonly Protocol _partProtocol = options.Value.ServiceUrl?.StartsWith("http:", StringComparison.OrdinalIgnoreCase) == true
        ? Protocol.HTTP
        : Protocol.HTTPS;

    /// <summary>True when a part can be sent while its bytes are still arriving (<see cref="S3Options.PresignedParts"/>).</summary>
    public bool StreamsParts => _options.PresignedParts;

    /// <inheritdoc />
    public void Dispose() => _parts.Dispose();

    /// <summary>The bucket every key lives in.</summary>
    public string Bucket => _options.Bucket;

    /// <summary>Stores a whole object in one request; returns the ETag the store answered.</summary>
    public Task<string> PutAsync(string key, ArraySegment<byte> body, string contentType, CancellationToken cancellationToken) =>
        RunAsync("put", idempotent: true, null, ct =>
            PutStreamAsync(key, new MemoryStream(body.Array!, body.Offset, body.Count, writable: false), contentType, ct), cancellationToken);

    /// <summary>Writes a local file as one object (renditions). Retried: each attempt reopens the file.</summary>
    public Task<string> PutFileAsync(string key, string path, string contentType, CancellationToken cancellationToken) =>
        RunAsync("put-file", idempotent: true, _options.CompleteTimeout, ct =>
            PutStreamAsync(key, new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous), contentType, ct),
            cancellationToken);

    // One PutObject of a stream the call owns (and disposes): never aws-chunked, which s3rver would store as content.
    private async Task<string> PutStreamAsync(string key, Stream body, string contentType, CancellationToken cancellationToken)
    {
        await using (body)
        {
            var response = await s3.PutObjectAsync(new PutObjectRequest
            {
                BucketName = Bucket,
                Key = key,
                InputStream = body,
                AutoCloseStream = false,
                ContentType = contentType,
                UseChunkEncoding = false,
            }, cancellationToken);
            return response.ETag;
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
            if (_options.PresignedParts)
            {
                using var content = new ByteArrayContent(body.Array!, body.Offset, body.Count);
                return await PutPresignedPartAsync(key, uploadId, partNumber, content, ct);
            }

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

    /// <summary>
    /// Uploads one part of exactly <paramref name="length"/> bytes that <paramref name="write"/> produces while the
    /// request is on its way (only when <see cref="StreamsParts"/>). The store keeps no copy, so this is not retried:
    /// the caller sends the bytes again from its own copy with <see cref="UploadPartAsync"/>. When the source fails,
    /// <paramref name="write"/> throws <see cref="PartSourceException"/>, which reaches the caller as it is and does not
    /// count against the circuit. Time spent waiting for the source is not limited here; a write that S3 does not take
    /// within <see cref="S3Options.AttemptTimeout"/>, or an answer that does not come within it, fails the call.
    /// </summary>
    public Task<string> UploadPartStreamingAsync(
        string key, string uploadId, int partNumber, long length, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        if (!StreamsParts)
        {
            throw new InvalidOperationException("Streamed parts need S3:PresignedParts.");
        }

        return RunAsync("upload-part-streamed", idempotent: false, Timeout.InfiniteTimeSpan, async ct =>
        {
            using var stalled = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var content = new StreamedPartContent(length, write, stalled, _options.AttemptTimeout);
            try
            {
                return await PutPresignedPartAsync(key, uploadId, partNumber, content, stalled.Token);
            }
            catch (Exception ex) when (SourceFailure(ex) is { } source)
            {
                throw source;
            }
            catch (OperationCanceledException ex) when (stalled.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                throw new TimeoutRejectedException($"S3 took no bytes of part {partNumber} and gave no answer for {_options.AttemptTimeout}.", ex);
            }
        }, cancellationToken);
    }

    private static PartSourceException? SourceFailure(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is PartSourceException source)
            {
                return source;
            }
        }

        return null;
    }

    // One UploadPart through a presigned URL: the SDK signs the request (locally, no call), the part client sends it.
    private async Task<string> PutPresignedPartAsync(string key, string uploadId, int partNumber, HttpContent content, CancellationToken cancellationToken)
    {
        var url = await s3.GetPreSignedURLAsync(new GetPreSignedUrlRequest
        {
            BucketName = Bucket,
            Key = key,
            Verb = HttpVerb.PUT,
            UploadId = uploadId,
            PartNumber = partNumber,
            Protocol = _partProtocol,
            Expires = DateTime.UtcNow + _options.PresignedUrlLifetime,
        });
        using var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = content };
        using var response = await _parts.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, cancellationToken);
        }

        return response.Headers.TryGetValues("ETag", out var etags) && etags.FirstOrDefault() is { Length: > 0 } etag
            ? etag
            : throw new InvalidDataException($"S3 stored part {partNumber} of {key} without an ETag.");
    }

    // S3's XML error as the SDK would have thrown it, so that retries and the circuit judge it the same way.
    private static async Task<AmazonS3Exception> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string? code = null, message = null, requestId = null;
        try
        {
            var error = System.Xml.Linq.XElement.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            (code, message, requestId) = (error.Element("Code")?.Value, error.Element("Message")?.Value, error.Element("RequestId")?.Value);
        }
        catch (System.Xml.XmlException)
        {
            // Not an S3 error document (a proxy's page, an empty body): the status says enough.
        }

        var status = response.StatusCode;
        return new AmazonS3Exception(message ?? $"UploadPart answered {(int)status} {response.ReasonPhrase}.",
            status >= HttpStatusCode.InternalServerError ? ErrorType.Receiver : ErrorType.Sender, code ?? status.ToString(), requestId, status);
    }

    /// <summary>Assembles the object from its parts, once per call: its owner settles a failed assembly by what the store
    /// then holds (an earlier attempt may have succeeded, and repeating it answers NoSuchUpload or an error) and tries
    /// again later, rather than have the pipeline repeat it blindly.</summary>
    /// <remarks>The call may take <see cref="S3Options.AttemptTimeout"/> plus <see cref="S3Options.CompleteTimePerGiB"/>
    /// for each GiB of <paramref name="size"/>, at most <see cref="S3Options.CompleteTimeout"/>: a store that stopped
    /// answering holds the item's grain no longer than its size warrants.</remarks>
    public Task CompleteMultipartAsync(string key, string uploadId, IReadOnlyList<PartETag> parts, long size, CancellationToken cancellationToken) =>
        RunAsync("complete-multipart", idempotent: false, CompletionTime(size), async ct =>
        {
            await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = Bucket,
                Key = key,
                UploadId = uploadId,
                PartETags = [.. parts.Select(p => new Amazon.S3.Model.PartETag(p.PartNumber, p.ETag))],
            }, ct);
        }, cancellationToken);

    private TimeSpan CompletionTime(long size)
    {
        var time = _options.AttemptTimeout + (_options.CompleteTimePerGiB * (size / (double)(1L << 30)));
        return time < _options.CompleteTimeout ? time : _options.CompleteTimeout;
    }

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
            // A store that stops sending mid-body fails the read after S3:AttemptTimeout instead of holding the request.
            var body = new IdleTimeoutStream(response.ResponseStream, _options.AttemptTimeout);
            if (response.ContentLength == expected)
            {
                return new ObjectRead(body, expected);
            }

            if (response.ContentLength > to)
            {
                // The server ignored the range and sent the object from its start (s3rver does so for
                // bytes=0-0, even with a 206): cut the range out of it here.
                return new ObjectRead(new SliceReadStream(body, from, expected), expected);
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
        // One call with all its retries gets S3:TotalTimeout, so that a hung store is answered 503 in seconds. A call with
        // a time of its own (an assembly, a download to a file, a streamed part) is bounded per attempt only.
        using var budget = attemptTimeout is null ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken) : null;
        budget?.CancelAfter(_options.TotalTimeout);
        var context = ResilienceContextPool.Shared.Get(operation, budget?.Token ?? cancellationToken);
        context.Properties.Set(Resilience.Idempotent, idempotent);
        if (attemptTimeout is { } timeout)
        {
            context.Properties.Set(Resilience.AttemptTimeout, timeout);
        }

        try
        {
            return await _pipeline.ExecuteAsync(static async (ctx, state) => await state(ctx.CancellationToken), context, call);
        }
        catch (OperationCanceledException ex) when (budget?.IsCancellationRequested == true && !cancellationToken.IsCancellationRequested)
        {
            LogUnavailable(logger, operation, nameof(TimeoutException), $"no answer within {_options.TotalTimeout} with retries");
            throw new ObjectStoreUnavailableException($"The object store did not answer ({operation}).", _options.BreakerBreakDuration, ex);
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

    [LoggerMessage(EventId = LogEvents.ObjectStore + 1, Level = LogLevel.Warning, Message = "S3 {Operation} failed: {ExceptionType}: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string operation, string exceptionType, string reason);

    [LoggerMessage(EventId = LogEvents.ObjectStore + 2, Level = LogLevel.Information, Message = "Could not abort multipart upload of {Key}: {Reason}")]
    private static partial void LogAbortFailed(ILogger logger, string key, string reason);
}
