using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Threading.Channels;
using MediaService.DataPlane;
using MediaService.DataPlane.Telemetry;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaService.Grains.Processing;

/// <summary>Where grains hand processing attempts to their silo's processing slots.</summary>
public interface IProcessingQueue
{
    /// <summary>Queues an attempt; it runs when a slot is free and reports to the item's grain.</summary>
    void Enqueue(ProcessingJob job);
}

/// <summary>
/// A silo's processing slots: a fixed number of workers take attempts from an in-memory queue and run them off the
/// grains' turns. An attempt copies the original from S3 into a folder of its own, recognizes the type from the
/// bytes, validates and processes it, stores the renditions under a key prefix of its own, and reports to the grain.
/// Only the grain's current attempt is applied; an attempt that was superseded (or whose item is gone) deletes what
/// it wrote. A silo that stops or dies loses its queue: the grains' reminders start those attempts again.
/// </summary>
public sealed partial class MediaProcessor : BackgroundService, IProcessingQueue
{
    private readonly Channel<ProcessingJob> _queue = Channel.CreateUnbounded<ProcessingJob>(new UnboundedChannelOptions { SingleReader = false });
    private readonly ProcessingOptions _options;
    private readonly IGrainFactory _grains;
    private readonly MediaObjectStore _store;
    private readonly ILogger<MediaProcessor> _logger;
    private readonly string _workRoot;
    private readonly ImageProcessor _images;
    private readonly AvProcessor _av;
    private readonly HeifProcessor _heif;
    private readonly IReadOnlySet<string> _allowed;
    private readonly MediaMetrics _metrics;
    private int _running;

    /// <summary>Creates the silo's work folder and the ffmpeg sandbox.</summary>
    public MediaProcessor(IOptions<ProcessingOptions> options, IGrainFactory grains, MediaObjectStore store, MediaMetrics metrics, ILogger<MediaProcessor> logger)
    {
        _metrics = metrics;
        metrics.ObserveProcessing(() => Queued, () => Running);
        _options = options.Value;
        _grains = grains;
        _store = store;
        _logger = logger;
        var parent = _options.WorkDirectory ?? Path.Combine(Path.GetTempPath(), "media-processing");
        foreach (var removed in RemoveDeadWorkFolders(parent, IsRunning))
        {
            LogWorkFolderRemoved(_logger, removed);
        }

        _workRoot = Directory.CreateDirectory(Path.Combine(parent, $"{Environment.ProcessId}-{Guid.NewGuid():N}")).FullName;
        Sandbox = new FfmpegSandbox(_options, _workRoot);
        _images = new ImageProcessor(_options);
        _av = new AvProcessor(_options, Sandbox);
        _heif = new HeifProcessor(_options, Sandbox, _images);
        _allowed = _options.AllowedTypeSet();
    }

    /// <summary>The ffmpeg sandbox of this silo.</summary>
    public FfmpegSandbox Sandbox { get; }

    /// <summary>Attempts waiting for a slot.</summary>
    public int Queued => _queue.Reader.Count;

    /// <summary>Attempts running now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <inheritdoc />
    public void Enqueue(ProcessingJob job)
    {
        _queue.Writer.TryWrite(job);
        LogQueued(_logger, job.MediaId, job.Attempt, Queued);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Sandbox.Available)
        {
            LogNoFfmpeg(_logger, Sandbox.Missing!);
        }
        else if (!Sandbox.HeifAvailable)
        {
            LogNoFfmpeg(_logger, $"{Sandbox.MissingHeif} (HEIC and AVIF, and AVIF renditions)");
        }

        try
        {
            await Task.WhenAll(Enumerable.Range(0, _options.Slots).Select(_ => Task.Run(() => WorkAsync(stoppingToken), CancellationToken.None)));
        }
        finally
        {
            TryDelete(_workRoot);
        }
    }

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var job in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                Interlocked.Increment(ref _running);
                var started = TimeProvider.System.GetTimestamp();
                var outcome = "error";
                try
                {
                    outcome = await RunAsync(job, stoppingToken);
                }
                finally
                {
                    Interlocked.Decrement(ref _running);
                    _metrics.ProcessingEnded(outcome, TimeProvider.System.GetElapsedTime(started));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Runs one attempt to its report. Never throws: every error becomes the attempt's outcome, which is
    /// returned (<c>abandoned</c> when the silo stopped it, <c>unreported</c> when the grain could not be told).</summary>
    internal async Task<string> RunAsync(ProcessingJob job, CancellationToken stoppingToken)
    {
        using var activity = MediaTelemetry.Source.StartActivity("media.process");
        activity?.SetTag("media.id", job.MediaId);
        activity?.SetTag("media.attempt", job.Attempt);
        var folder = Directory.CreateDirectory(Path.Combine(_workRoot, $"{job.MediaId}-{job.Attempt}-{Guid.NewGuid():N}")).FullName;
        var prefix = MediaKeys.RenditionPrefix(job.MediaId, job.Attempt);
        var started = TimeProvider.System.GetTimestamp();
        var steps = new ProcessingSteps();
        ProcessingReport report;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(_options.JobTimeout);
            try
            {
                report = await ProcessAsync(job, folder, prefix, steps, timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !stoppingToken.IsCancellationRequested)
            {
                report = Report(job, ProcessingOutcome.Failed, $"Processing took longer than the {_options.JobTimeout} limit.", steps);
            }
        }
        catch (MediaRejectedException rejected)
        {
            report = Report(job, ProcessingOutcome.Rejected, rejected.Message, steps, rejected.Facts);
        }
        catch (ProcessingFailedException failed)
        {
            report = Report(job, ProcessingOutcome.Failed, failed.Message, steps);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The silo is stopping: no report. The item's next activation (or its reminder) starts a new attempt.
            LogAbandoned(_logger, job.MediaId, job.Attempt);
            await DeleteQuietlyAsync(prefix, null);
            return "abandoned";
        }
        catch (Exception ex)
        {
            // Storage, the cluster or anything unforeseen: retried with backoff, up to the attempt limit.
            LogTransient(_logger, job.MediaId, job.Attempt, ex);
            report = Report(job, ProcessingOutcome.Transient, $"{ex.GetType().Name}: {ex.Message}", steps);
        }
        finally
        {
            TryDelete(folder);
        }

        bool applied;
        try
        {
            applied = await _grains.GetGrain<IMediaProcessingReports>(job.MediaId).CompleteProcessingAsync(report);
        }
        catch (Exception ex)
        {
            // Not known whether the grain took it: keep the renditions (the grain may refer to them). If it did not,
            // its reminder starts another attempt, and the accepted attempt later clears the others' objects.
            LogReportFailed(_logger, job.MediaId, job.Attempt, ex);
            return "unreported";
        }

        var seconds = TimeProvider.System.GetElapsedTime(started).TotalSeconds;
        LogFinished(_logger, job.MediaId, job.Attempt, report.Outcome, applied, seconds, report.Reason);
        if (applied && report.Outcome == ProcessingOutcome.Ready)
        {
            // Objects of earlier attempts (lost with their silo, or cut short) go once this one is accepted.
            await DeleteQuietlyAsync(MediaKeys.RenditionsPrefix(job.MediaId), prefix);
        }
        else
        {
            await DeleteQuietlyAsync(prefix, null);
        }

        activity?.SetTag("media.outcome", report.Outcome.ToString());
        return report.Outcome.ToString().ToLowerInvariant();
    }

    private async Task<ProcessingReport> ProcessAsync(ProcessingJob job, string folder, string prefix, ProcessingSteps steps, CancellationToken cancellationToken)
    {
        if (job.Size == 0)
        {
            throw new MediaRejectedException("The file is empty.");
        }

        if (job.Size > _options.MaxInputBytes)
        {
            throw new MediaRejectedException($"The file has {job.Size} bytes; the largest processed is {_options.MaxInputBytes}.");
        }

        // The first bytes decide whether the rest is worth downloading: most of what is not media stops here.
        var head = new byte[(int)Math.Min(MediaSniffer.HeaderLength, job.Size)];
        int read;
        using (steps.Step("sniff"))
        await using (var start = await _store.OpenReadAsync(job.StorageKey, 0, head.Length - 1, cancellationToken))
        {
            read = await start.Body.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken);
        }

        var sniffed = MediaSniffer.Sniff(head.AsSpan(0, read))
            ?? throw new MediaRejectedException(job.DeclaredType is { } declared && declared != "application/octet-stream"
                ? $"The content is not a recognized image, video or audio format (it was declared as {declared})."
                : "The content is not a recognized image, video or audio format.");
        var candidates = sniffed.Kind == MediaKind.Image
            ? [sniffed.MediaType]
            : new[] { AvProcessor.TypeFor(sniffed, MediaKind.Video), AvProcessor.TypeFor(sniffed, MediaKind.Audio) };
        if (!candidates.Any(_allowed.Contains))
        {
            throw new MediaRejectedException($"{sniffed.MediaType} is not an accepted type.",
                new MediaFacts { Kind = sniffed.Kind, DetectedType = sniffed.MediaType, Format = sniffed.Format });
        }

        var original = Path.Combine(folder, "original");
        using (steps.Step("download"))
        {
            await _store.DownloadToFileAsync(job.StorageKey, job.Size, original, cancellationToken);
        }

        var output = Directory.CreateDirectory(Path.Combine(folder, "out")).FullName;
        var processed = sniffed switch
        {
            { Format: "heic" or "heif" or "avif" } => await _heif.ProcessAsync(original, sniffed, output, cancellationToken, steps),
            { Kind: MediaKind.Image } => await Task.Factory.StartNew(
                () => _images.Process(original, sniffed, output, cancellationToken, steps), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default),
            _ => await _av.ProcessAsync(original, sniffed, output, cancellationToken, steps),
        };
        if (sniffed.Kind == MediaKind.Image)
        {
            processed = await _heif.AddAvifAsync(processed, output, cancellationToken, steps);
        }

        var renditions = ImmutableArray.CreateBuilder<Rendition>(processed.Files.Count);
        using var store = steps.Step("store");
        foreach (var file in processed.Files)
        {
            var key = prefix + file.Name;
            var sha = await HashAsync(file.Path, cancellationToken);
            await _store.PutFileAsync(key, file.Path, file.ContentType, cancellationToken);
            renditions.Add(new Rendition(file.Name, key, file.ContentType, new FileInfo(file.Path).Length, file.Width, file.Height, sha));
        }

        store.Dispose();
        return new ProcessingReport(job.Attempt, ProcessingOutcome.Ready, null, processed.Facts, renditions.ToImmutable(), steps.All);
    }

    private static ProcessingReport Report(ProcessingJob job, ProcessingOutcome outcome, string reason, ProcessingSteps steps, MediaFacts? facts = null) =>
        new(job.Attempt, outcome, reason.Length > 1000 ? reason[..1000] : reason, facts, [], steps.All);

    private static async Task<string> HashAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken));
    }

    private async Task DeleteQuietlyAsync(string prefix, string? except)
    {
        try
        {
            await _store.DeletePrefixAsync(prefix, CancellationToken.None, except);
        }
        catch (Exception ex) when (ex is ObjectStoreUnavailableException or Amazon.S3.AmazonS3Exception)
        {
            LogCleanupDeferred(_logger, prefix, ex.Message);
        }
    }

    /// <summary>
    /// Removes the work folders (named <c>{process id}-{guid}</c>) that processes no longer running left under
    /// <paramref name="parent"/>: a killed silo never cleans up its copies. Folders of running processes, and anything
    /// not named so, are left alone. Returns the folders removed.
    /// </summary>
    public static IReadOnlyList<string> RemoveDeadWorkFolders(string parent, Func<int, bool> isRunning)
    {
        var removed = new List<string>();
        if (!Directory.Exists(parent))
        {
            return removed;
        }

        foreach (var folder in Directory.EnumerateDirectories(parent))
        {
            var name = Path.GetFileName(folder);
            var dash = name.IndexOf('-');
            if (dash > 0 && int.TryParse(name.AsSpan(0, dash), out var pid) && Guid.TryParseExact(name[(dash + 1)..], "N", out _)
                && pid != Environment.ProcessId && !isRunning(pid))
            {
                TryDelete(folder);
                removed.Add(folder);
            }
        }

        return removed;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [LoggerMessage(EventId = LogEvents.Processing + 1, Level = LogLevel.Debug, Message = "Media item {MediaId}: processing attempt {Attempt} queued ({Queued} waiting)")]
    private static partial void LogQueued(ILogger logger, long mediaId, int attempt, int queued);

    [LoggerMessage(EventId = LogEvents.Processing + 2, Level = LogLevel.Information,
        Message = "Media item {MediaId}: processing attempt {Attempt} ended {Outcome} (applied: {Applied}) in {Seconds:0.000} s {Reason}")]
    private static partial void LogFinished(ILogger logger, long mediaId, int attempt, ProcessingOutcome outcome, bool applied, double seconds, string? reason);

    [LoggerMessage(EventId = LogEvents.Processing + 3, Level = LogLevel.Warning, Message = "Media item {MediaId}: processing attempt {Attempt} hit a transient error")]
    private static partial void LogTransient(ILogger logger, long mediaId, int attempt, Exception exception);

    [LoggerMessage(EventId = LogEvents.Processing + 4, Level = LogLevel.Warning, Message = "Media item {MediaId}: processing attempt {Attempt} could not report; its reminder will retry")]
    private static partial void LogReportFailed(ILogger logger, long mediaId, int attempt, Exception exception);

    [LoggerMessage(EventId = LogEvents.Processing + 5, Level = LogLevel.Information, Message = "Media item {MediaId}: processing attempt {Attempt} stopped with the silo")]
    private static partial void LogAbandoned(ILogger logger, long mediaId, int attempt);

    [LoggerMessage(EventId = LogEvents.Processing + 6, Level = LogLevel.Warning, Message = "Objects under {Prefix} could not be deleted now: {Reason}")]
    private static partial void LogCleanupDeferred(ILogger logger, string prefix, string reason);

    [LoggerMessage(EventId = LogEvents.Processing + 7, Level = LogLevel.Warning, Message = "Audio and video processing is unavailable on this silo: {Missing} not found")]
    private static partial void LogNoFfmpeg(ILogger logger, string missing);

    [LoggerMessage(EventId = LogEvents.Processing + 8, Level = LogLevel.Information, Message = "Removed the work folder {Folder} of a process no longer running")]
    private static partial void LogWorkFolderRemoved(ILogger logger, string folder);
}
