using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MediaService.Cli.Http;

namespace MediaService.Cli.Tus;

/// <summary>A file to upload: how the user named it, where it is, and its size and time when listed.</summary>
public sealed record SourceFile(string Display, string FullPath, long Size, DateTime ModifiedUtc);

/// <summary>A finished upload.</summary>
/// <param name="File">The file as named on the command line (or below a folder named there).</param>
/// <param name="Id">The media id (the last segment of the tus upload URL).</param>
/// <param name="Size">Bytes uploaded.</param>
/// <param name="Sha256">Hex SHA-256 of the file's bytes, computed while uploading.</param>
/// <param name="ResumedFrom">The offset an earlier run had left on the service (0 for a fresh upload).</param>
/// <param name="Url">The item's URL.</param>
/// <param name="Tags">The item's tags after the upload.</param>
public sealed record UploadResult(string File, long Id, long Size, string Sha256, long ResumedFrom, string Url, IReadOnlyList<string> Tags);

/// <summary>What the service's tus endpoint supports (<c>OPTIONS /files/</c>).</summary>
/// <param name="Sha1Checksum">The checksum extension with sha1: every chunk carries <c>Upload-Checksum</c>.</param>
/// <param name="CreationWithUpload">A file that fits in one chunk goes with its creation: one request.</param>
/// <param name="MaxSize">The largest upload (<c>Tus-Max-Size</c>), if told.</param>
public sealed record TusCapabilities(bool Sha1Checksum, bool CreationWithUpload, long? MaxSize)
{
    /// <summary>Asks the service (OPTIONS needs no key).</summary>
    public static async Task<TusCapabilities> DiscoverAsync(MediaApi api, CancellationToken cancellationToken)
    {
        using var response = await api.SendAsync(() => TusUploader.Request(HttpMethod.Options, api.Resolve("files/")), "tus OPTIONS", cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await MediaApi.ErrorAsync(response, "tus OPTIONS /files/", cancellationToken);
        }

        var extensions = Header(response, "Tus-Extension")?.Split(',', StringSplitOptions.TrimEntries) ?? [];
        var algorithms = Header(response, "Tus-Checksum-Algorithm")?.Split(',', StringSplitOptions.TrimEntries) ?? [];
        long? max = long.TryParse(Header(response, "Tus-Max-Size"), NumberStyles.None, CultureInfo.InvariantCulture, out var m) ? m : null;
        return new TusCapabilities(
            extensions.Contains("checksum") && algorithms.Contains("sha1", StringComparer.OrdinalIgnoreCase),
            extensions.Contains("creation-with-upload"),
            max);
    }

    internal static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}

/// <summary>
/// tus 1.0 uploads of files, resumable across runs: a creation (<c>Upload-Length</c>, <c>Upload-Metadata</c> filename and
/// filetype), then PATCHes of one chunk each at the offset the service reports, each with a sha1 <c>Upload-Checksum</c>
/// when the service verifies them. After a network failure, a 5xx/429 or a checksum refusal the upload waits (backoff,
/// or <c>Retry-After</c>), asks the service for its offset (HEAD) and goes on from there; the count of failures in a row
/// is bounded by <c>--retries</c> and starts again with every chunk that lands (an answer that takes none of the chunk
/// counts as a failure). The upload's URL is in the state file from its creation until it completes, so the next run,
/// after Ctrl-C or a kill, resumes from the service's offset. A file whose size or modification time changed before its
/// last chunk is sent fails, and its upload is terminated. Once stored, the item's SHA-256 (or, when the service has
/// none, that of its content read back) must be the file's.
/// </summary>
public sealed class TusUploader(MediaApi api, UploadState state, TusCapabilities capabilities, int chunkSize, IReadOnlyList<string> tags, Pacer? pacer)
{
    private const string TusVersion = "1.0.0";

    /// <summary>A tus request: the version header on every one.</summary>
    public static HttpRequestMessage Request(HttpMethod method, Uri url)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Add("Tus-Resumable", TusVersion);
        return request;
    }

    /// <summary>Uploads one file, resuming its earlier upload when the state file knows one.</summary>
    /// <param name="file">The file.</param>
    /// <param name="progress">Called with the bytes the service holds or is being sent, from 0 to the file's size.</param>
    /// <param name="note">Tells the user something worth knowing (a resumption, a restart).</param>
    /// <param name="cancellationToken">Ctrl-C: the upload stops; the service keeps what arrived and the state file its URL.</param>
    public async Task<UploadResult> UploadAsync(SourceFile file, Action<long> progress, Action<string> note, CancellationToken cancellationToken)
    {
        var key = UploadState.KeyOf(api.Settings.BaseUrl, file.FullPath, file.Size, file.ModifiedUtc);
        using var handle = File.OpenHandle(file.FullPath, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
        if (RandomAccess.GetLength(handle) != file.Size)
        {
            throw new CliException(ExitCodes.Failure, $"{file.Display}: the file changed while waiting to be uploaded");
        }

        if (capabilities.MaxSize is { } max && file.Size > max)
        {
            throw new CliException(ExitCodes.Failure, $"{file.Display}: {file.Size} bytes, more than the service takes ({max})");
        }

        var buffer = new byte[(int)Math.Clamp(file.Size, 1, chunkSize)];
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long hashed = 0;
        Uri? url = null;
        long offset = 0;
        long resumedFrom = 0;
        // The file changed since an earlier run left an upload of it: that one can never complete; terminate it.
        foreach (var (staleKey, stale) in await state.OthersOfAsync(key, NewEntry(new Uri(api.Settings.BaseUrl, "files/"), file), cancellationToken))
        {
            note($"{file.Display}: changed since an earlier, unfinished upload of it; terminating that one");
            using (var terminated = await api.SendAsync(() => Request(HttpMethod.Delete, new Uri(stale.Url)), $"terminate the earlier upload of {file.Display}", cancellationToken))
            {
                // 204, or already gone (404, 410): forgotten. Anything else: it expires on the service by itself.
            }

            await state.RemoveAsync(staleKey, new Uri(stale.Url));
        }

        if (await state.FindAsync(key, cancellationToken) is { } entry)
        {
            if (await HeadAsync(new Uri(entry.Url), file, cancellationToken) is { } remote)
            {
                url = new Uri(entry.Url);
                offset = resumedFrom = remote;
                note($"{file.Display}: resuming at {offset} of {file.Size} bytes");
            }
            else
            {
                note($"{file.Display}: the earlier upload is gone from the service (expired or deleted); starting over");
                await state.RemoveAsync(key, new Uri(entry.Url));
            }
        }

        if (url is null && capabilities.CreationWithUpload && file.Size > 0 && file.Size <= chunkSize)
        {
            // The whole file in the creation: one request. It is sent once, never retried: a retry after an answer that
            // was lost could store the file twice (tus has no way to name the first). When it fails (no answer, or
            // 5xx/429), the file goes the ordinary way below: an empty creation (a duplicate of that is an empty upload
            // that expires) and PATCHes from the service's offset. A 201 lost after the body fully arrived can still
            // leave one stray item, which the client cannot find; the note says so.
            var n = (int)file.Size;
            await ReadAsync(handle, buffer.AsMemory(0, n), 0, cancellationToken);
            sha256.AppendData(buffer, 0, n);
            hashed = n;
            if (Changed(handle, file))
            {
                throw new CliException(ExitCodes.Failure, $"{file.Display}: the file changed while being uploaded (size or modification time); nothing was uploaded");
            }

            try
            {
                if (await CreateWithUploadAsync(file, buffer.AsMemory(0, n), progress, cancellationToken) is { } created)
                {
                    (url, offset) = created;
                    if (offset < file.Size)
                    {
                        await RecordAsync(key, url, file, note);
                    }
                }
                else
                {
                    progress(0);
                }
            }
            catch (Exception ex) when (MediaApi.IsNetworkFailure(ex, cancellationToken))
            {
                note($"{file.Display}: no answer to the upload ({api.Unreachable(ex)}); sending it again as a new upload (if the first had arrived whole, the service holds it twice)");
                progress(0);
            }
        }

        if (url is null)
        {
            (url, _) = await CreateAsync(file, cancellationToken);
            await RecordAsync(key, url, file, note);
        }

        progress(offset);
        var failures = 0;
        while (offset < file.Size)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (offset > hashed)
            {
                // Resumed: the bytes an earlier run sent are hashed from the file.
                await HashRangeAsync(handle, sha256, hashed, offset, buffer, cancellationToken);
                hashed = offset;
            }

            var n = (int)Math.Min(buffer.Length, file.Size - offset);
            await ReadAsync(handle, buffer.AsMemory(0, n), offset, cancellationToken);
            if (offset + n > hashed)
            {
                sha256.AppendData(buffer, (int)(hashed - offset), (int)(offset + n - hashed));
                hashed = offset + n;
            }

            if (offset + n == file.Size && Changed(handle, file))
            {
                // The last chunk would complete an upload of bytes of two versions of the file: end it unfinished.
                await TerminateAsync(key, url, file, cancellationToken);
                throw new CliException(ExitCodes.Failure,
                    $"{file.Display}: the file changed while being uploaded (size or modification time); the upload was terminated, run again to upload the file as it is now");
            }

            var start = offset;
            string failure;
            TimeSpan? retryAfter = null;
            var exit = ExitCodes.Unavailable;
            try
            {
                using var response = await PatchAsync(url, start, buffer.AsMemory(0, n), sent => progress(start + sent), cancellationToken);
                switch (response.StatusCode)
                {
                    case HttpStatusCode.NoContent or HttpStatusCode.OK:
                        offset = OffsetOf(response) ?? throw new CliException(ExitCodes.Failure, $"{file.Display}: the service answered a PATCH without Upload-Offset");
                        if (offset > start)
                        {
                            failures = 0;
                            progress(offset);
                            continue;
                        }

                        // Answered, but nothing of the chunk was taken (the service cut the body, say): a failed
                        // attempt like any other, or the loop would send the same chunk for ever.
                        failure = $"the service took none of the chunk at offset {start} ({(int)response.StatusCode} at the same offset)";
                        break;
                    case HttpStatusCode.Conflict:
                        // Another offset than ours (a writer before us, or bytes of ours that did not land): ask.
                        failure = "the service holds another offset (409)";
                        retryAfter = TimeSpan.Zero;
                        break;
                    case (HttpStatusCode)460:
                        failure = "the chunk's checksum did not match on arrival (460)";
                        exit = ExitCodes.Failure;
                        break;
                    case HttpStatusCode.NotFound or HttpStatusCode.Gone:
                        await state.RemoveAsync(key, url);
                        throw new CliException(ExitCodes.Failure, $"{file.Display}: the upload is gone from the service (expired or deleted); run again to start over");
                    case var status when MediaApi.IsRetryable(status):
                        failure = (await MediaApi.ErrorAsync(response, "PATCH", cancellationToken)).Message;
                        retryAfter = MediaApi.RetryAfterOf(response);
                        break;
                    default:
                        throw await MediaApi.ErrorAsync(response, $"upload {file.Display}", cancellationToken);
                }
            }
            catch (Exception ex) when (MediaApi.IsNetworkFailure(ex, cancellationToken))
            {
                failure = api.Unreachable(ex);
            }

            if (++failures > api.Settings.Retries)
            {
                throw new CliException(exit, $"upload {file.Display}: {failure} (after {MediaApi.Attempts(failures)} in a row); run again to resume");
            }

            await Task.Delay(MediaApi.Backoff(failures - 1, retryAfter), cancellationToken);
            offset = await HeadAsync(url, file, cancellationToken)
                ?? throw new CliException(ExitCodes.Failure, $"{file.Display}: the upload is gone from the service (expired or deleted); run again to start over");
            progress(offset);
        }

        if (hashed < file.Size)
        {
            await HashRangeAsync(handle, sha256, hashed, file.Size, buffer, cancellationToken);
        }

        var id = IdOf(url);
        if (Changed(handle, file))
        {
            // Changed after the last chunk was read: the item may hold one version and the digest be of another. The
            // upload is complete, so the item itself goes.
            using (await api.SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, api.Resolve($"media/{id}")), $"delete item {id} of {file.Display}", cancellationToken))
            {
                // 204, or already gone. Anything else: the message names the item.
            }

            await state.RemoveAsync(key, url);
            throw new CliException(ExitCodes.Failure,
                $"{file.Display}: the file changed while being uploaded (size or modification time); item {id} was deleted, run again to upload the file as it is now");
        }

        var digest = Convert.ToHexStringLower(sha256.GetHashAndReset());
        if (tags.Count > 0)
        {
            await TagAsync(id, file, cancellationToken);
        }

        var item = await StoredItemAsync(id, file, cancellationToken);
        var storedDigest = item.TryGetProperty("sha256", out var stored) && stored.ValueKind == JsonValueKind.String
            ? stored.GetString()!
            // The service knows the SHA-256 only of a content that came in one request: read the content back.
            : await ContentSha256Async(id, file, cancellationToken);
        if (!string.Equals(storedDigest, digest, StringComparison.OrdinalIgnoreCase))
        {
            await state.RemoveAsync(key, url);
            throw new CliException(ExitCodes.Failure, $"{file.Display}: the service stored other bytes (sha256 {storedDigest}, the file's is {digest}) in item {id}");
        }

        await state.RemoveAsync(key, url);
        var itemTags = item.TryGetProperty("tags", out var t) && t.ValueKind == JsonValueKind.Array ? t.EnumerateArray().Select(x => x.GetString()!).ToArray() : [];
        return new UploadResult(file.Display, id, file.Size, digest, resumedFrom, api.Resolve($"media/{id}").AbsoluteUri, itemTags);
    }

    /// <summary>The media id: the last segment of the upload URL.</summary>
    public static long IdOf(Uri url) =>
        long.TryParse(url.Segments[^1].TrimEnd('/'), NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw new CliException(ExitCodes.Failure, $"the upload URL {url} does not end with a media id");

    private UploadEntry NewEntry(Uri url, SourceFile file) =>
        new(url.AbsoluteUri, api.Settings.BaseUrl.AbsoluteUri, file.FullPath, file.Size, file.ModifiedUtc, DateTimeOffset.UtcNow);

    // Records a new upload for the next run; another run's upload of the same file, recorded meanwhile, stays recorded.
    private async Task RecordAsync(string key, Uri url, SourceFile file, Action<string> note)
    {
        if (await state.AddAsync(key, NewEntry(url, file)) is not null)
        {
            note($"{file.Display}: another run is uploading this file too; this run's upload is not kept for resuming");
        }
    }

    // Ends an unfinished upload (tus termination) and forgets it.
    private async Task TerminateAsync(string key, Uri url, SourceFile file, CancellationToken cancellationToken)
    {
        using (await api.SendAsync(() => Request(HttpMethod.Delete, url), $"terminate the upload of {file.Display}", cancellationToken))
        {
            // 204, or already gone: forgotten. Anything else: it expires on the service by itself.
        }

        await state.RemoveAsync(key, url);
    }

    // The file is no longer the one listed (and uploaded): another size or modification time.
    private static bool Changed(Microsoft.Win32.SafeHandles.SafeFileHandle handle, SourceFile file) =>
        RandomAccess.GetLength(handle) != file.Size || File.GetLastWriteTimeUtc(file.FullPath) != file.ModifiedUtc;

    // The item once stored. The last PATCH's answer may come while the service still assembles it (completing): asked
    // again for a little while; an item that is not stored then, or failed, fails the file.
    private async Task<JsonElement> StoredItemAsync(long id, SourceFile file, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + StoredWait;
        for (var delay = TimeSpan.FromMilliseconds(100); ; delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.TicksPerSecond)))
        {
            var item = await api.SendJsonAsync(
                () => new HttpRequestMessage(HttpMethod.Get, api.Resolve($"media/{id}")), $"read {file.Display}'s item {id}", cancellationToken);
            var status = item.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            if (status == "stored")
            {
                return item;
            }

            if (status is not ("receiving" or "completing"))
            {
                var reason = item.TryGetProperty("failureReason", out var r) && r.ValueKind == JsonValueKind.String ? $": {r.GetString()}" : "";
                throw new CliException(ExitCodes.Failure, $"{file.Display}: the service did not store item {id} (status {status ?? "missing"}{reason})");
            }

            if (DateTime.UtcNow + delay > deadline)
            {
                throw new CliException(ExitCodes.Failure,
                    $"{file.Display}: item {id} was still {status} {StoredWait.TotalSeconds:0} s after its last byte; its SHA-256 could not be checked (see `media get {id}`)");
            }

            await Task.Delay(delay, cancellationToken);
        }
    }

    // How long an item may stay completing after the upload's last byte before the check gives up.
    private static readonly TimeSpan StoredWait = TimeSpan.FromSeconds(10);

    // The SHA-256 of the stored content, read back from the service (streamed).
    private async Task<string> ContentSha256Async(long id, SourceFile file, CancellationToken cancellationToken)
    {
        using var response = await api.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, api.Resolve($"media/{id}/content")),
            $"read {file.Display}'s content back (item {id})", cancellationToken, HttpCompletionOption.ResponseHeadersRead, BodyTimeout(file.Size));
        if (!response.IsSuccessStatusCode)
        {
            throw await MediaApi.ErrorAsync(response, $"read {file.Display}'s content back (item {id})", cancellationToken);
        }

        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[81920];
        int n;
        while ((n = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            sha256.AppendData(buffer, 0, n);
        }

        return Convert.ToHexStringLower(sha256.GetHashAndReset());
    }

    private string Metadata(SourceFile file)
    {
        var metadata = new StringBuilder("filename ").Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(Path.GetFileName(file.FullPath))));
        if (MediaTypes.Of(file.FullPath) is { } type)
        {
            metadata.Append(",filetype ").Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(type)));
        }

        return metadata.ToString();
    }

    private HttpRequestMessage CreationRequest(SourceFile file)
    {
        var request = Request(HttpMethod.Post, api.Resolve("files/"));
        request.Headers.Add("Upload-Length", file.Size.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("Upload-Metadata", Metadata(file));
        return request;
    }

    // An empty creation, retried like any request: a duplicate of it (an answer lost) is an empty upload that expires.
    private async Task<(Uri Url, long Offset)> CreateAsync(SourceFile file, CancellationToken cancellationToken)
    {
        using var response = await api.SendAsync(() => CreationRequest(file), $"upload {file.Display}", cancellationToken);
        return await CreatedAsync(response, file, cancellationToken);
    }

    // A creation with the whole file, sent once: null when the service answered 5xx/429 (the caller starts over with an
    // empty creation); a network failure is thrown (IsNetworkFailure).
    private async Task<(Uri Url, long Offset)?> CreateWithUploadAsync(SourceFile file, ReadOnlyMemory<byte> body, Action<long> progress, CancellationToken cancellationToken)
    {
        using var request = CreationRequest(file);
        request.Content = new ChunkContent(body, progress, pacer, cancellationToken);
        using var response = await api.SendOnceAsync(request, BodyTimeout(body.Length), cancellationToken);
        return MediaApi.IsRetryable(response.StatusCode) ? null : await CreatedAsync(response, file, cancellationToken);
    }

    private async Task<(Uri Url, long Offset)> CreatedAsync(HttpResponseMessage response, SourceFile file, CancellationToken cancellationToken)
    {
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw await MediaApi.ErrorAsync(response, $"upload {file.Display}", cancellationToken);
        }

        var location = response.Headers.Location ?? throw new CliException(ExitCodes.Failure, $"{file.Display}: the service created an upload without a Location");
        return (api.Resolve(location.OriginalString), OffsetOf(response) ?? 0);
    }

    // The service's offset, or null when the upload is gone (404, 410) or is another file's (another length).
    private async Task<long?> HeadAsync(Uri url, SourceFile file, CancellationToken cancellationToken)
    {
        using var response = await api.SendAsync(() => Request(HttpMethod.Head, url), $"resume {file.Display}", cancellationToken);
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await MediaApi.ErrorAsync(response, $"resume {file.Display}", cancellationToken);
        }

        var length = long.TryParse(TusCapabilities.Header(response, "Upload-Length"), NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? l : (long?)null;
        if (length is not null && length != file.Size)
        {
            return null;
        }

        return OffsetOf(response) ?? throw new CliException(ExitCodes.Failure, $"{file.Display}: the service answered HEAD without Upload-Offset");
    }

    private async Task<HttpResponseMessage> PatchAsync(Uri url, long offset, ReadOnlyMemory<byte> chunk, Action<long> sent, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Patch, url);
        request.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        if (capabilities.Sha1Checksum)
        {
            request.Headers.Add("Upload-Checksum", "sha1 " + Convert.ToBase64String(SHA1.HashData(chunk.Span)));
        }

        request.Content = new ChunkContent(chunk, sent, pacer, cancellationToken);
        return await api.SendOnceAsync(request, BodyTimeout(chunk.Length), cancellationToken);
    }

    private async Task TagAsync(long id, SourceFile file, CancellationToken cancellationToken) =>
        await api.SendJsonAsync(() =>
        {
            // A merge patch replaces the array whole; no If-Match: the item was made by this upload.
            var request = new HttpRequestMessage(HttpMethod.Patch, api.Resolve($"media/{id}/metadata"))
            {
                Content = JsonContent.Create(new { tags }, mediaType: new("application/merge-patch+json")),
            };
            return request;
        }, $"tag {file.Display} (item {id})", cancellationToken);

    // Enough for the body at 64 KiB/s (or the run's limit, when lower), on top of the usual bound.
    private TimeSpan BodyTimeout(long bytes) =>
        MediaApi.RequestTimeout + TimeSpan.FromSeconds(bytes / (double)Math.Min(64 * 1024, pacer?.BytesPerSecond ?? long.MaxValue));

    private static long? OffsetOf(HttpResponseMessage response) =>
        long.TryParse(TusCapabilities.Header(response, "Upload-Offset"), NumberStyles.None, CultureInfo.InvariantCulture, out var o) ? o : null;

    private static async Task ReadAsync(Microsoft.Win32.SafeHandles.SafeFileHandle handle, Memory<byte> into, long offset, CancellationToken cancellationToken)
    {
        while (into.Length > 0)
        {
            var n = await RandomAccess.ReadAsync(handle, into, offset, cancellationToken);
            if (n == 0)
            {
                throw new CliException(ExitCodes.Failure, "the file got shorter while being uploaded");
            }

            into = into[n..];
            offset += n;
        }
    }

    private static async Task HashRangeAsync(Microsoft.Win32.SafeHandles.SafeFileHandle handle, IncrementalHash hash, long from, long to, byte[] buffer, CancellationToken cancellationToken)
    {
        while (from < to)
        {
            var n = (int)Math.Min(buffer.Length, to - from);
            await ReadAsync(handle, buffer.AsMemory(0, n), from, cancellationToken);
            hash.AppendData(buffer, 0, n);
            from += n;
        }
    }
}
