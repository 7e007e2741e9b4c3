using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MediaService.Cli.Tus;

/// <summary>An unfinished upload: where it lives on the service, so that the next run resumes it.</summary>
/// <param name="Url">The tus upload's absolute URL (the creation's <c>Location</c>).</param>
/// <param name="Endpoint">The service's base URL.</param>
/// <param name="Path">The file's absolute path.</param>
/// <param name="Size">The file's size when the upload began.</param>
/// <param name="Modified">The file's last write time (UTC) when the upload began.</param>
/// <param name="Created">When the upload was created.</param>
public sealed record UploadEntry(string Url, string Endpoint, string Path, long Size, DateTime Modified, DateTimeOffset Created);

/// <summary>
/// The state file of unfinished uploads (<c>$MEDIA_STATE_FILE</c>, else <c>$XDG_STATE_HOME/media/uploads.json</c>, else
/// <c>~/.local/state/media/uploads.json</c>), keyed by endpoint, absolute path, size and modification time, so a file
/// that changed starts over. Each change re-reads the file under a lock (several runs may share it), and replaces it
/// with a rename, so a run killed at any moment leaves the old or the new file, never half of one. An entry is removed
/// when its upload completes, and only by the run of that upload (compare-and-delete): two runs of the same file at once
/// may each create an upload, but neither forgets the other's.
/// </summary>
public sealed class UploadState(string path)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>The state file.</summary>
    public string FilePath { get; } = path;

    /// <summary>The default state file.</summary>
    public static string DefaultPath()
    {
        if (Environment.GetEnvironmentVariable("MEDIA_STATE_FILE") is { Length: > 0 } explicitPath)
        {
            return Path.GetFullPath(explicitPath);
        }

        var state = Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } xdg && Path.IsPathRooted(xdg)
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
        return Path.Combine(state, "media", "uploads.json");
    }

    /// <summary>The key of a file's upload on an endpoint.</summary>
    public static string KeyOf(Uri endpoint, string path, long size, DateTime modifiedUtc) =>
        string.Create(CultureInfo.InvariantCulture, $"{endpoint.AbsoluteUri}|{path}|{size}|{modifiedUtc.Ticks}");

    /// <summary>The unfinished upload of <paramref name="key"/>, if any.</summary>
    public async Task<UploadEntry?> FindAsync(string key, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var _ = await LockAsync(cancellationToken);
            return Read().TryGetValue(key, out var entry) ? entry : null;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Unfinished uploads of the same file on the same endpoint under another key: the file changed since.</summary>
    public async Task<List<KeyValuePair<string, UploadEntry>>> OthersOfAsync(string key, UploadEntry like, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var _ = await LockAsync(cancellationToken);
            return [.. Read().Where(e => e.Key != key && e.Value.Endpoint == like.Endpoint && e.Value.Path == like.Path)];
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Records the upload of <paramref name="key"/> unless the key has one already (another run of the same file created
    /// its upload meanwhile): then that one stays, and is returned. Null when <paramref name="entry"/> was recorded.
    /// </summary>
    public async Task<UploadEntry?> AddAsync(string key, UploadEntry entry) =>
        await ChangeAsync(uploads =>
        {
            if (uploads.TryGetValue(key, out var existing))
            {
                return (existing.Url == entry.Url ? null : existing, false);
            }

            uploads[key] = entry;
            return (null, true);
        });

    /// <summary>Forgets the upload of <paramref name="key"/>, only if it is the one at <paramref name="url"/>: the entry
    /// of another run's upload of the same file stays.</summary>
    public async Task RemoveAsync(string key, Uri url) =>
        await ChangeAsync(uploads =>
            (null, uploads.TryGetValue(key, out var existing) && existing.Url == url.AbsoluteUri && uploads.Remove(key)));

    // Reads, changes and (when the change says so) replaces the file, all under the lock, so that a check and the change
    // it decides are one step for every run sharing the file. Not cancelled by Ctrl-C: a change begun is finished, so
    // the file says what the service holds.
    private async Task<UploadEntry?> ChangeAsync(Func<SortedDictionary<string, UploadEntry>, (UploadEntry? Result, bool Write)> change)
    {
        await _gate.WaitAsync(CancellationToken.None);
        try
        {
            using var _ = await LockAsync(CancellationToken.None);
            var uploads = Read();
            var (result, write) = change(uploads);
            if (!write)
            {
                return result;
            }

            var temp = $"{FilePath}.{Environment.ProcessId}.tmp";
            await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                await JsonSerializer.SerializeAsync(stream, new StateFile(1, uploads), Json, CancellationToken.None);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, FilePath, overwrite: true);
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    private SortedDictionary<string, UploadEntry> Read()
    {
        try
        {
            var file = JsonSerializer.Deserialize<StateFile>(File.ReadAllBytes(FilePath), Json);
            return new SortedDictionary<string, UploadEntry>(file?.Uploads ?? [], StringComparer.Ordinal);
        }
        catch (FileNotFoundException)
        {
            return new(StringComparer.Ordinal);
        }
        catch (DirectoryNotFoundException)
        {
            return new(StringComparer.Ordinal);
        }
        catch (JsonException ex)
        {
            throw new CliException(ExitCodes.Failure, $"the state file {FilePath} is not readable ({ex.Message}); move it away to start over");
        }
    }

    // Other runs sharing the file: an exclusive lock file beside it (.NET locks FileShare.None with flock on Unix).
    private async Task<FileStream> LockAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                return new FileStream(FilePath + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(20, cancellationToken);
            }
            catch (IOException ex)
            {
                throw new CliException(ExitCodes.Failure, $"the state file {FilePath} stays locked by another run ({ex.Message})");
            }
        }
    }

    private sealed record StateFile(int Version, [property: JsonPropertyName("uploads")] SortedDictionary<string, UploadEntry>? Uploads);
}
