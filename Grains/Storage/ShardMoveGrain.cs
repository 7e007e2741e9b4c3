using MediaService.DataPlane.Sharding;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaService.Grains.Storage;

/// <summary>
/// The one owner of a logical shard's moves (key = the shard): starts them, runs their steps (<see cref="ShardMover"/>,
/// which records each in <c>shard_moves</c>), and takes the shard's items out of memory for them. A durable reminder
/// resumes a move whose silo died; it goes once the move ended.
/// </summary>
public sealed partial class ShardMoveGrain(ShardMover mover, IOptions<StorageOptions> options, ILogger<ShardMoveGrain> logger) : Grain, IShardMoveGrain, IRemindable
{
    private const string Reminder = "move";
    private readonly Dictionary<long, Task> _runs = [];

    private int Shard => (int)this.GetPrimaryKeyLong();

    public async Task<ShardMoveView> StartAsync(string target)
    {
        ShardMove move;
        try
        {
            // The reminder first: a move recorded is always resumed, even if this silo dies right after.
            await this.RegisterOrUpdateReminder(Reminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            if (await mover.UnfinishedAsync(Shard, CancellationToken.None) is { } unfinished)
            {
                Run(unfinished.Id);
                throw new MediaException(MediaErrorCode.InvalidState, $"Move {unfinished.Id} of shard {Shard} is unfinished (step {unfinished.Step}); it goes on.");
            }

            move = await mover.BeginAsync(Shard, target, CancellationToken.None);
        }
        catch (ShardMoveRefusedException refused)
        {
            await ForgetIfIdleAsync();
            throw new MediaException(refused.Conflict ? MediaErrorCode.InvalidState : MediaErrorCode.InvalidInput, refused.Message);
        }
        catch (Exception ex) when (DataPlane.Resilience.IsPostgresUnavailable(ex))
        {
            throw MediaException.Unavailable("A database did not answer; no move was started. Retry later.", TimeSpan.FromSeconds(5));
        }

        Run(move.Id);
        return View(move);
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (await mover.UnfinishedAsync(Shard, CancellationToken.None) is { } move)
        {
            Run(move.Id);
        }
        else
        {
            await ForgetIfIdleAsync();
        }
    }

    // The steps run in this activation, off any call: the admin's request is answered at once. One run per move here,
    // and one cluster-wide (the mover holds the move's lock while it runs).
    private void Run(long moveId)
    {
        if (_runs.TryGetValue(moveId, out var running) && !running.IsCompleted)
        {
            return;
        }

        _runs[moveId] = RunAsync(moveId);
    }

    private async Task RunAsync(long moveId)
    {
        try
        {
            await mover.RunAsync(moveId, DeactivateAsync, CancellationToken.None);
            await ForgetIfIdleAsync(moveId);
        }
        catch (Exception ex)
        {
            // After the switch (or when the control database does not answer): the reminder runs it again.
            LogInterrupted(logger, moveId, Shard, ex.Message);
        }
    }

    // The reminder goes only when no move of the shard is unfinished and no other run is going on here.
    private async Task ForgetIfIdleAsync(long? finishedRun = null)
    {
        if (_runs.Any(r => r.Key != finishedRun && !r.Value.IsCompleted) || await mover.UnfinishedAsync(Shard, CancellationToken.None) is not null)
        {
            return;
        }

        if (await this.GetReminder(Reminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    // Asks every activation of the shard's items to leave memory, until none is left or DrainTimeout passed; returns how
    // many were left (the fence makes the move safe either way: none of them can write).
    private async Task<int> DeactivateAsync(int shard, CancellationToken cancellationToken)
    {
        var management = GrainFactory.GetGrain<IManagementGrain>(0);
        var type = GrainFactory.GetGrain<IMediaItemGrain>(1).GetGrainId().Type;
        var deadline = DateTimeOffset.UtcNow + options.Value.DrainTimeout;
        while (true)
        {
            var active = (await management.GetActiveGrains(type))
                .Where(g => g.TryGetIntegerKey(out var id, out _) && ShardKey.Of(id) == shard)
                .ToList();
            if (active.Count == 0 || DateTimeOffset.UtcNow >= deadline)
            {
                return active.Count;
            }

            await Task.WhenAll(active.Select(async g =>
            {
                try
                {
                    g.TryGetIntegerKey(out var id, out _);
                    await GrainFactory.GetGrain<IMediaItemGrain>(id).DrainAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    // Gone meanwhile, or refused at activation (the shard drains): nothing to deactivate.
                }
            }));
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
    }

    private static ShardMoveView View(ShardMove m) =>
        new(m.Id, m.Shard, m.Source, m.Target, m.Step, m.Rows, m.Error, m.StartedAt, m.StepAt, m.FinishedAt);

    [LoggerMessage(EventId = LogEvents.Storage + 14, Level = LogLevel.Warning, Message = "Shard move {MoveId} of shard {Shard} interrupted ({Error}); its reminder resumes it")]
    private static partial void LogInterrupted(ILogger logger, long moveId, int shard, string error);
}
