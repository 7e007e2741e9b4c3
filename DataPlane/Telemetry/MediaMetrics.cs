using System.Diagnostics.Metrics;

namespace MediaService.DataPlane.Telemetry;

/// <summary>
/// The service's own instruments (meter <see cref="MediaTelemetry.MeterName"/>). Silos count what grains decide
/// (uploads started, completed, expired; processing), frontends what crosses the wire (bytes received, appends in
/// progress, failed appends, rate-limited requests). Exported at <c>/metrics</c> of each process.
/// </summary>
public sealed class MediaMetrics
{
    private readonly Counter<long> _started;
    private readonly Counter<long> _completed;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _expired;
    private readonly Counter<long> _bytes;
    private readonly UpDownCounter<long> _appends;
    private readonly UpDownCounter<long> _uploadsActive;
    private readonly Counter<long> _rateLimited;
    private readonly UpDownCounter<long> _processingQueued;
    private readonly UpDownCounter<long> _processingRunning;
    private readonly Histogram<double> _processingDuration;
    private long _activeUploads;
    private long _activeItems;
    private long _activeAppends;

    /// <summary>Creates the instruments on the host's meter factory.</summary>
    public MediaMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MediaTelemetry.MeterName);
        _started = meter.CreateCounter<long>("media.uploads.started", "{upload}", "Uploads created (tus, REST, concatenation).");
        _completed = meter.CreateCounter<long>("media.uploads.completed", "{upload}", "Uploads whose every byte is stored.");
        _failed = meter.CreateCounter<long>("media.uploads.failed", "{request}",
            "Requests carrying upload bytes that ended with a server-side error (the bytes stored before it are kept).");
        _expired = meter.CreateCounter<long>("media.uploads.expired", "{upload}", "Unfinished uploads removed at their expiry.");
        _bytes = meter.CreateCounter<long>("media.upload.bytes_received", "By", "Upload bytes received and stored in S3.");
        _appends = meter.CreateUpDownCounter<long>("media.appends.active", "{request}", "Requests streaming upload bytes right now.");
        _uploadsActive = meter.CreateUpDownCounter<long>("media.uploads.active", "{upload}",
            "Unfinished uploads whose grain is active on this silo.");
        _rateLimited = meter.CreateCounter<long>("media.requests.rate_limited", "{request}", "Requests refused with 429 by the rate limits.");
        _processingQueued = meter.CreateUpDownCounter<long>("media.processing.queued", "{job}", "Processing attempts waiting for a slot.");
        _processingRunning = meter.CreateUpDownCounter<long>("media.processing.running", "{job}", "Processing attempts running.");
        _processingDuration = meter.CreateHistogram<double>("media.processing.duration", "s", "Time of a processing attempt, by outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] });
    }

    /// <summary>Unfinished uploads active here (what <c>GET /admin/cluster</c> shows per silo).</summary>
    public long ActiveUploads => Interlocked.Read(ref _activeUploads);

    /// <summary>Media item grains active here.</summary>
    public long ActiveMediaItems => Interlocked.Read(ref _activeItems);

    /// <summary>Requests streaming upload bytes in this process.</summary>
    public long ActiveAppends => Interlocked.Read(ref _activeAppends);

    /// <summary>An upload was created: <c>single</c>, or a tus <c>partial</c> or <c>final</c> upload.</summary>
    public void UploadStarted(string kind) => _started.Add(1, new KeyValuePair<string, object?>("kind", kind));

    /// <summary>An upload's bytes are all stored.</summary>
    public void UploadCompleted() => _completed.Add(1);

    /// <summary>An upload expired unfinished.</summary>
    public void UploadExpired() => _expired.Add(1);

    /// <summary>A request carrying upload bytes failed on our side.</summary>
    public void UploadFailed(string reason) => _failed.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>Upload bytes are stored.</summary>
    public void BytesReceived(long bytes)
    {
        if (bytes > 0)
        {
            _bytes.Add(bytes);
        }
    }

    /// <summary>An append starts; dispose the result when it ends.</summary>
    public Scope AppendStarted()
    {
        Interlocked.Increment(ref _activeAppends);
        _appends.Add(1);
        return new Scope(this, static m =>
        {
            Interlocked.Decrement(ref m._activeAppends);
            m._appends.Add(-1);
        });
    }

    /// <summary>A media item grain was activated (+1) or deactivated (-1) here.</summary>
    public void MediaItemActivated(int delta) => Interlocked.Add(ref _activeItems, delta);

    /// <summary>An unfinished upload became active on this silo (+1) or stopped being either (-1).</summary>
    public void ActiveUploadChanged(int delta)
    {
        Interlocked.Add(ref _activeUploads, delta);
        _uploadsActive.Add(delta);
    }

    /// <summary>A request was refused by a rate limit of <paramref name="requestClass"/>.</summary>
    public void RateLimited(string requestClass) => _rateLimited.Add(1, new KeyValuePair<string, object?>("class", requestClass));

    /// <summary>A processing attempt was queued.</summary>
    public void ProcessingQueued() => _processingQueued.Add(1);

    /// <summary>A processing attempt left the queue and runs; dispose the result with its outcome when it ends.</summary>
    public void ProcessingStarted()
    {
        _processingQueued.Add(-1);
        _processingRunning.Add(1);
    }

    /// <summary>A processing attempt ended.</summary>
    public void ProcessingEnded(string outcome, TimeSpan elapsed)
    {
        _processingRunning.Add(-1);
        _processingDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));
    }

    /// <summary>Undoes a gauge change once.</summary>
    public readonly struct Scope(MediaMetrics metrics, Action<MediaMetrics> end) : IDisposable
    {
        /// <inheritdoc />
        public void Dispose() => end(metrics);
    }
}
