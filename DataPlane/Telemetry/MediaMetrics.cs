using System.Diagnostics.Metrics;

namespace MediaService.DataPlane.Telemetry;

/// <summary>
/// The service's own instruments (meter <see cref="MediaTelemetry.MeterName"/>). Silos count what grains decide
/// (uploads started, completed, expired; processing), frontends what crosses the wire (bytes received, appends in
/// progress, failed appends, rate-limited requests). Exported at <c>/metrics</c> of each process.
/// </summary>
public sealed class MediaMetrics
{
    private readonly Meter _meter;
    private readonly Counter<long> _started;
    private readonly Counter<long> _completed;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _expired;
    private readonly Counter<long> _bytes;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _keyLookups;
    private readonly Counter<long> _authFailures;
    private readonly Histogram<double> _processingDuration;
    private readonly Counter<long> _webhookEvents;
    private readonly Histogram<double> _outboxLag;
    private readonly Counter<long> _webhookAttempts;
    private readonly Histogram<double> _webhookAttemptDuration;
    private readonly Histogram<double> _webhookDeliveryLag;
    private readonly Counter<long> _webhooksDisabled;
    private readonly Counter<long> _storageCalls;
    private readonly Histogram<double> _storageDuration;
    private readonly Counter<long> _shardWrites;
    private readonly Histogram<double> _searchDuration;
    private readonly Histogram<double> _searchDatabaseDuration;
    private readonly Counter<long> _searchPartial;
    private readonly Counter<long> _quotaPartial;
    private readonly Counter<long> _itemsPlaced;
    private readonly Counter<long> _shardMoveRows;
    private long _activeUploads;
    private long _activeItems;
    private long _activeAppends;

    /// <summary>Creates the instruments on the host's meter factory.</summary>
    public MediaMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MediaTelemetry.MeterName);
        _started = _meter.CreateCounter<long>("media.uploads.started", "{upload}", "Uploads created (tus, REST, concatenation).");
        _completed = _meter.CreateCounter<long>("media.uploads.completed", "{upload}", "Uploads whose every byte is stored.");
        _failed = _meter.CreateCounter<long>("media.uploads.failed", "{request}",
            "Requests carrying upload bytes that ended with a server-side error (the bytes stored before it are kept).");
        _expired = _meter.CreateCounter<long>("media.uploads.expired", "{upload}", "Unfinished uploads removed at their expiry.");
        _bytes = _meter.CreateCounter<long>("media.upload.bytes_received", "By", "Upload bytes received and stored in S3.");
        _meter.CreateObservableUpDownCounter("media.appends.active", () => ActiveAppends, "{request}", "Requests streaming upload bytes right now.");
        _meter.CreateObservableUpDownCounter("media.uploads.active", () => ActiveUploads, "{upload}",
            "Unfinished uploads whose grain is active on this silo.");
        _rateLimited = _meter.CreateCounter<long>("media.requests.rate_limited", "{request}", "Requests refused with 429 by the rate limits.");
        _keyLookups = _meter.CreateCounter<long>("media.auth.key_lookups", "{lookup}",
            "API keys looked up in PostgreSQL (only keys whose signature is valid and that are not cached get this far).");
        _authFailures = _meter.CreateCounter<long>("media.auth.failures", "{request}", "Credentials refused, by reason.");
        _processingDuration = _meter.CreateHistogram<double>("media.processing.duration", "s", "Time of a processing attempt, by outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] });
        var lagBuckets = new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600] };
        _webhookEvents = _meter.CreateCounter<long>("media.webhooks.events", "{event}", "Events born in the write of their change, by type.");
        _outboxLag = _meter.CreateHistogram<double>("media.webhooks.outbox_lag", "s",
            "From an event's birth to its hand-off from the item's outbox to the delivery queue.", advice: lagBuckets);
        _webhookAttempts = _meter.CreateCounter<long>("media.webhooks.attempts", "{attempt}",
            "Delivery attempts, by verdict (delivered, retry, exhausted, gone).");
        _webhookAttemptDuration = _meter.CreateHistogram<double>("media.webhooks.attempt.duration", "s",
            "Time of a delivery attempt until the receiver's answer or the failure, by verdict.", advice: lagBuckets);
        _webhookDeliveryLag = _meter.CreateHistogram<double>("media.webhooks.delivery_lag", "s",
            "From an event's birth to its successful delivery.", advice: lagBuckets);
        _webhooksDisabled = _meter.CreateCounter<long>("media.webhooks.disabled", "{subscription}",
            "Subscriptions disabled after persistent failure or a 410 Gone.");
        var storageBuckets = new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15] };
        _storageCalls = _meter.CreateCounter<long>("media.storage.calls", "{call}",
            "Item state reads, writes and clears by storage database, operation and outcome (ok, conflict, unavailable, draining, fenced).");
        _storageDuration = _meter.CreateHistogram<double>("media.storage.duration", "s", "Time of an item state call, by storage database and operation.",
            advice: storageBuckets);
        _shardWrites = _meter.CreateCounter<long>("media.shard.writes", "{write}", "Item state writes by logical shard (the spread over the 64 shards).");
        _searchDuration = _meter.CreateHistogram<double>("media.search.duration", "s", "Time of a search over every storage database, by databases asked and partial.",
            advice: storageBuckets);
        _searchDatabaseDuration = _meter.CreateHistogram<double>("media.search.database.duration", "s", "Time of one database's part of a search, by database and outcome.",
            advice: storageBuckets);
        _searchPartial = _meter.CreateCounter<long>("media.search.partial", "{search}", "Searches answered without some storage database (partial: true).");
        _quotaPartial = _meter.CreateCounter<long>("media.quota.partial", "{check}",
            "Quota checks that counted a storage database that did not answer as empty (no recent usage of it was known).");
        _itemsPlaced = _meter.CreateCounter<long>("media.items.placed", "{item}", "New items placed, by storage database.");
        _shardMoveRows = _meter.CreateCounter<long>("media.shard.moved_rows", "{row}", "Rows copied by shard moves, by table.");
    }

    /// <summary>An item state call of the storage router ended.</summary>
    public void StorageCall(string database, string operation, string outcome, int shard, TimeSpan elapsed)
    {
        _storageCalls.Add(1, new KeyValuePair<string, object?>("database", database), new KeyValuePair<string, object?>("op", operation),
            new KeyValuePair<string, object?>("outcome", outcome));
        _storageDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("database", database), new KeyValuePair<string, object?>("op", operation));
        if (operation == "write" && outcome == "ok")
        {
            _shardWrites.Add(1, new KeyValuePair<string, object?>("shard", shard));
        }
    }

    /// <summary>A search over <paramref name="databases"/> databases was answered.</summary>
    public void SearchAnswered(int databases, bool partial, TimeSpan elapsed)
    {
        _searchDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("databases", databases), new KeyValuePair<string, object?>("partial", partial));
        if (partial)
        {
            _searchPartial.Add(1);
        }
    }

    /// <summary>One database's part of a search or usage sum ended.</summary>
    public void SearchDatabaseAnswered(string database, string outcome, TimeSpan elapsed) =>
        _searchDatabaseDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("database", database), new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>A quota check counted a database that did not answer as empty.</summary>
    public void QuotaPartial() => _quotaPartial.Add(1);

    /// <summary>A new item was placed on a database.</summary>
    public void ItemPlaced(string database) => _itemsPlaced.Add(1, new KeyValuePair<string, object?>("database", database));

    /// <summary>A shard move copied rows of a table.</summary>
    public void ShardRowsMoved(string table, long rows) => _shardMoveRows.Add(rows, new KeyValuePair<string, object?>("table", table));

    /// <summary>Observes the storage databases' health (1 up, 0 down) and the shard map's epoch.</summary>
    public void ObserveStorage(Func<IEnumerable<(string Database, bool Up)>> health, Func<long> epoch, Func<IEnumerable<(int Shard, bool Draining)>> shards)
    {
        _meter.CreateObservableGauge("media.storage.database.up", () => health().Select(h =>
            new Measurement<int>(h.Up ? 1 : 0, new KeyValuePair<string, object?>("database", h.Database))), "{database}",
            "Whether each storage database answered its last probe (1) or not (0).");
        _meter.CreateObservableGauge("media.shard.map.epoch", epoch, "{change}", "The epoch of the shard map this process routes by.");
        _meter.CreateObservableGauge("media.shard.draining", () => shards().Select(s =>
            new Measurement<int>(s.Draining ? 1 : 0, new KeyValuePair<string, object?>("shard", s.Shard))), "{shard}",
            "Whether each logical shard is being moved (1) or open (0).");
    }

    /// <summary>An event was born (in the write of its change).</summary>
    public void WebhookEventBorn(string type) => _webhookEvents.Add(1, new KeyValuePair<string, object?>("type", type));

    /// <summary>An event left its item's outbox for the delivery queue, <paramref name="lag"/> after its birth.</summary>
    public void WebhookEventHandedOff(TimeSpan lag) => _outboxLag.Record(lag.TotalSeconds);

    /// <summary>A delivery attempt ended.</summary>
    public void WebhookAttempted(string verdict, TimeSpan elapsed)
    {
        var tag = new KeyValuePair<string, object?>("verdict", verdict);
        _webhookAttempts.Add(1, tag);
        _webhookAttemptDuration.Record(elapsed.TotalSeconds, tag);
    }

    /// <summary>An event reached its receiver, <paramref name="lag"/> after its birth.</summary>
    public void WebhookDelivered(TimeSpan lag) => _webhookDeliveryLag.Record(lag.TotalSeconds);

    /// <summary>A subscription was disabled.</summary>
    public void WebhookDisabled() => _webhooksDisabled.Add(1);

    /// <summary>An API key was looked up in PostgreSQL.</summary>
    public void KeyLookedUp() => _keyLookups.Add(1);

    /// <summary>Credentials were refused (<c>malformed</c>, <c>signature</c>, <c>unknown</c>, <c>jwt</c>).</summary>
    public void AuthenticationFailed(string reason) => _authFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));

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
        return new Scope(this);
    }

    /// <summary>A media item grain was activated (+1) or deactivated (-1) here.</summary>
    public void MediaItemActivated(int delta) => Interlocked.Add(ref _activeItems, delta);

    /// <summary>An unfinished upload became active on this silo (+1) or stopped being either (-1).</summary>
    public void ActiveUploadChanged(int delta) => Interlocked.Add(ref _activeUploads, delta);

    /// <summary>A request was refused by a rate limit of <paramref name="requestClass"/>.</summary>
    public void RateLimited(string requestClass) => _rateLimited.Add(1, new KeyValuePair<string, object?>("class", requestClass));

    /// <summary>Exports the processing queue and slots in use, read from the silo's processor when scraped.</summary>
    public void ObserveProcessing(Func<int> queued, Func<int> running)
    {
        _meter.CreateObservableUpDownCounter("media.processing.queued", queued, "{job}", "Processing attempts waiting for a slot.");
        _meter.CreateObservableUpDownCounter("media.processing.running", running, "{job}", "Processing attempts running.");
    }

    /// <summary>A processing attempt ended.</summary>
    public void ProcessingEnded(string outcome, TimeSpan elapsed) =>
        _processingDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>Ends an append once.</summary>
    public readonly struct Scope(MediaMetrics metrics) : IDisposable
    {
        /// <inheritdoc />
        public void Dispose() => Interlocked.Decrement(ref metrics._activeAppends);
    }
}
