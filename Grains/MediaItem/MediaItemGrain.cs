using MediaService.DataPlane;
using MediaService.DataPlane.Telemetry;
using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;
using MediaService.Grains.Processing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaService.Grains;

/// <summary>
/// One media item. Non-reentrant: every state change is one turn that runs the domain rule (<see cref="MediaItemLifecycle"/>,
/// <see cref="MediaProcessingRules"/>), then persists the result before answering, so an answer never reports a state
/// PostgreSQL does not hold. The grain is the shell that loads, decides through the domain, persists and keeps the
/// item's reminders and timers; its named collaborators do the rest: <see cref="ObjectCustody"/> (every S3 call),
/// <see cref="IndexOutbox"/> (the index row and the webhook hand-off after each write) and <see cref="ProcessingDriver"/>
/// (the attempts in the silo's processing slots). Its facets live in one file each: upload
/// (<c>MediaItemGrain.Upload.cs</c>), and metadata, serving and processing reports (<c>MediaItemGrain.Item.cs</c>).
/// </summary>
/// <remarks>
/// Durable reminders: <c>expire</c> (an unfinished upload), <c>complete</c> (a completion S3 has not finished),
/// <c>process</c> (an attempt lost with its silo) and <c>index</c> (the outbox, until it is caught up). Each is registered
/// before the write that needs it. The grain type stays <c>upload</c>, its name before the facets, so that stored
/// state and reminders keep finding it.
/// </remarks>
[GrainType("upload")]
public sealed partial class MediaItemGrain : Grain, IMediaItemGrain, IUploadGrain, IRemindable, IGrainMigrationParticipant
{
    private const string RunningAttemptKey = "media.running-attempt";
    private const string ExpiryReminder = "expire";
    private const string ProcessingReminder = "process";
    private const string IndexReminder = "index";
    private const string CompletionReminder = "complete";
    private static readonly TimeSpan SweepAgainAfter = TimeSpan.FromSeconds(20);
    private const int MaxSweepAttempts = 10;

    private readonly IPersistentState<MediaItemState> _state;
    private readonly UploadOptions _uploads;
    private readonly ProcessingOptions _processing;
    private readonly MetadataOptions _metadata;
    private readonly TimeSpan _postgresRetryAfter;
    private readonly TimeProvider _time;
    private readonly MediaMetrics _metrics;
    private readonly Microsoft.Extensions.Hosting.IHostApplicationLifetime _lifetime;
    private readonly Operations.SiloPeers _peers;
    private readonly ILogger<MediaItemGrain> _logger;
    private readonly ObjectCustody _custody;
    private readonly IndexOutbox _outbox;
    private readonly ProcessingDriver _driver;

    private IGrainTimer? _processingTimer;
    private IGrainTimer? _completionTimer;
    private IGrainTimer? _sweepTimer;
    private int _sweepAttempts;
    private IGrainTimer? _settleTimer;

    // The state as PostgreSQL holds it, for the reads that interleave with a long call (an assembly in S3): the current
    // state can be ahead of it while a write is in flight, and by leases and part numbers that stay in memory.
    private MediaItemState? _durable;

    // When a completion that could not finish may be tried again by a caller of FinishCompletionAsync.
    private DateTimeOffset _nextCompletionAttempt;

    // Whether this activation counts in the silo's unfinished uploads (media.uploads.active, GET /admin/cluster).
    private bool _countedActive;

    /// <summary>The item's state and the seams and options it works with; the collaborators are made here, one per activation.</summary>
    public MediaItemGrain(
        [PersistentState(StorageNames.UploadState, StorageNames.Media)] IPersistentState<MediaItemState> state,
        DataPlane.Objects.IObjectLifecycle store,
        IOptions<UploadOptions> uploadOptions,
        IOptions<PostgresOptions> postgresOptions,
        IProcessingQueue processing,
        IOptions<ProcessingOptions> processingOptions,
        DataPlane.Sharding.IIndexWriter index,
        IOptions<MetadataOptions> metadataOptions,
        IOptions<Orleans.Configuration.ClusterOptions> clusterOptions,
        TimeProvider time,
        MediaMetrics metrics,
        Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime,
        Operations.SiloPeers peers,
        DataPlane.Webhooks.IEventHandOff webhooks,
        IOptions<DataPlane.Webhooks.WebhookOptions> webhookOptions,
        ILogger<MediaItemGrain> logger)
    {
        _state = state;
        _uploads = uploadOptions.Value;
        _processing = processingOptions.Value;
        _metadata = metadataOptions.Value;
        _postgresRetryAfter = postgresOptions.Value.BreakerBreakDuration;
        _time = time;
        _metrics = metrics;
        _lifetime = lifetime;
        _peers = peers;
        _logger = logger;
        var id = this.GetPrimaryKeyLong();
        _custody = new ObjectCustody(id, store, _uploads, logger);
        _outbox = new IndexOutbox(id, clusterOptions.Value.ServiceId, index, webhooks, GrainFactory, _custody, webhookOptions.Value.WakeTimeout, metrics, logger);
        _driver = new ProcessingDriver(id, processing, _processing);
    }

    private long Id => this.GetPrimaryKeyLong();

    private MediaItemState Current => _state.State ?? MediaItemState.Empty;

    private MediaItemState Durable => _durable ?? Current;

    private long MaxSize => _uploads.MaxUploadBytes;

    // Another owner is told that the item does not exist, whatever its state.
    private bool Visible => MediaItemLifecycle.Visible(Durable, CallerContext.Owner);

    private void RequireOwner()
    {
        if (!Visible)
        {
            throw new MediaException(MediaErrorCode.NotFound, "No media item exists under this id.");
        }
    }

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (_state.State is not null)
        {
            _state.State = MediaItemLifecycle.Reactivated(_state.State);
        }

        _durable = Current;
        if (Current.Status == MediaStatus.Completing)
        {
            // A completion the last activation did not finish (its silo died, or S3 failed): finish it now.
            ScheduleCompletion(TimeSpan.Zero);
        }

        if (Current.Processing is { Pending: true } p)
        {
            ScheduleProcessingCheck(p.NextAttemptAt is { } next ? next - _time.GetUtcNow() : TimeSpan.Zero);
        }

        if (!Current.Outbox.IsDefaultOrEmpty)
        {
            // Events written by the last activation and not handed off (its silo died in between). Its index may be behind
            // too: the index reminder, left registered, catches it up and then goes.
            _outbox.IndexBehind = true;
            ScheduleSettle(TimeSpan.Zero);
        }

        _metrics.MediaItemActivated(1);
        CountActive();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (reason.ReasonCode == DeactivationReasonCode.ShuttingDown && _peers.AnyOtherActive())
        {
            // Draining silo: move to another silo with the state in hand rather than wait to be read again. A
            // processing attempt running here is abandoned with the silo, so the moved item starts the next one at once
            // (see OnDehydrate). The last silo of the cluster just deactivates its grains: their state is saved.
            this.MigrateOnIdle();
        }

        _metrics.MediaItemActivated(-1);
        if (_countedActive)
        {
            _countedActive = false;
            _metrics.ActiveUploadChanged(-1);
        }

        return Task.CompletedTask;
    }

    /// <summary>Moved by the rebalancer, the item keeps waiting for the attempt running here: it still reports, to wherever
    /// the item is. Moved because this silo stops, it does not: the attempt is abandoned with the silo.</summary>
    public void OnDehydrate(IDehydrationContext dehydrationContext)
    {
        if (_driver.Running is { } attempt && !_lifetime.ApplicationStopping.IsCancellationRequested)
        {
            dehydrationContext.TryAddValue(RunningAttemptKey, attempt);
        }
    }

    /// <inheritdoc />
    public void OnRehydrate(IRehydrationContext rehydrationContext)
    {
        if (rehydrationContext.TryGetValue<int>(RunningAttemptKey, out var attempt))
        {
            _driver.Running = attempt;
        }
    }

    /// <summary>Leaves memory once idle (a shard move drains the items of its shard).</summary>
    public Task DrainAsync()
    {
        this.DeactivateOnIdle();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        switch (reminderName)
        {
            case IndexReminder:
                await SyncIndexAsync();
                await SettleAsync();
                break;
            case CompletionReminder when Current.Status == MediaStatus.Completing:
                await FinishCompletionAsync();
                break;
            case ProcessingReminder when Current.Processing is { Pending: true }:
                await CheckProcessingAsync();
                break;
            case CompletionReminder or ProcessingReminder:
                await ForgetReminderAsync(reminderName);
                break;
            case ExpiryReminder:
                await ExpireAsync();
                break;
        }
    }

    private async Task ExpireAsync()
    {
        var before = Current;
        var next = MediaItemLifecycle.Expire(before, _time.GetUtcNow());
        if (!ReferenceEquals(next, before))
        {
            await PersistAsync(next);
            LogExpired(_logger, Id);
            _metrics.UploadExpired();
            await _custody.ReleaseAsync(before);
        }

        if (Current.Status != MediaStatus.Receiving)
        {
            await ForgetReminderAsync(ExpiryReminder);
        }
    }

    private void CountActive()
    {
        var active = Current.Status == MediaStatus.Receiving;
        if (active != _countedActive)
        {
            _countedActive = active;
            _metrics.ActiveUploadChanged(active ? 1 : -1);
        }
    }

    private void CountTransition(MediaItemState before, MediaItemState after)
    {
        if (!before.Exists && after.Exists)
        {
            _metrics.UploadStarted(after.Concat == ConcatKind.None ? "single" : after.Concat.ToString().ToLowerInvariant());
        }

        if (before.Status != MediaStatus.Stored && after.Status == MediaStatus.Stored)
        {
            _metrics.UploadCompleted();
        }

        CountActive();
    }

    // A reminder registered before the write that needs it: when the reminder table does not answer, nothing is written
    // and the caller is told to retry.
    private async Task RegisterReminderAsync(string name, TimeSpan due, TimeSpan period)
    {
        try
        {
            await this.RegisterOrUpdateReminder(name, due, period);
        }
        catch (Exception ex) when (DatabaseDidNotAnswer(ex))
        {
            LogDatabaseUnavailable(_logger, Id, ex.GetType().Name, ex.Message);
            throw MediaException.Unavailable("The database did not answer; nothing was changed. Retry later.", _postgresRetryAfter);
        }
    }

    // Best effort: a reminder left behind (the database did not answer) finds nothing to do when it fires and forgets
    // itself then.
    private async Task ForgetReminderAsync(string name)
    {
        try
        {
            var reminder = await this.GetReminder(name);
            if (reminder is not null)
            {
                await this.UnregisterReminder(reminder);
            }
        }
        catch (Exception ex) when (DatabaseDidNotAnswer(ex))
        {
            LogDatabaseUnavailable(_logger, Id, ex.GetType().Name, ex.Message);
        }
    }

    // A reminder call that failed in PostgreSQL on another silo comes back as a CodecNotFoundException (the Npgsql
    // exception cannot cross the wire): it means the same as the Npgsql one, the database did not answer.
    private static bool DatabaseDidNotAnswer(Exception ex) =>
        Resilience.IsPostgresUnavailable(ex)
        || ex is Orleans.Serialization.CodecNotFoundException codec && codec.Message.Contains("Npgsql", StringComparison.Ordinal);

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    [LoggerMessage(EventId = LogEvents.MediaItem + 15, Level = LogLevel.Warning, Message = "Media item {MediaId}: the database did not answer ({Error}: {Message}); answered unavailable")]
    private static partial void LogDatabaseUnavailable(ILogger logger, long mediaId, string error, string message);

    [LoggerMessage(EventId = LogEvents.MediaItem + 6, Level = LogLevel.Information, Message = "Media item {MediaId} expired unfinished")]
    private static partial void LogExpired(ILogger logger, long mediaId);
}
