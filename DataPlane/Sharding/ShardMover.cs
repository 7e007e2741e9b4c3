using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace MediaService.DataPlane.Sharding;

/// <summary>One row of <c>shard_moves</c>.</summary>
public sealed record ShardMove(
    long Id, int Shard, string Source, string Target, string Step, IReadOnlyDictionary<string, long> Rows, string? Error,
    DateTimeOffset StartedAt, DateTimeOffset StepAt, DateTimeOffset? FinishedAt);

/// <summary>Why a move cannot start.</summary>
public sealed class ShardMoveRefusedException(string reason, bool conflict) : Exception(reason)
{
    /// <summary>True when the shard's state refuses it (already there, a move unfinished); false for a bad request.</summary>
    public bool Conflict { get; } = conflict;
}

/// <summary>
/// The steps of moving one logical shard between storage databases, each recorded in <c>shard_moves</c> (control
/// database) before it runs and idempotent, so that a move resumed after a crash re-runs its current step:
/// <list type="number">
/// <item><b>draining</b>: the map marks the shard draining; within <see cref="StorageOptions.MapRefresh"/> every process
/// refuses its items (503) and places nothing there.</item>
/// <item><b>deactivating</b>: the caller takes the shard's items out of memory.</item>
/// <item><b>fencing</b>: the source refuses every write of the shard from then on, whatever map a process holds (the
/// fence waits for writes in flight: they hold a shared advisory lock of the shard until they commit).</item>
/// <item><b>copying</b>: in one transaction of the target, leftovers of an earlier attempt are deleted, both tables' rows
/// of the shard are copied as they are (versions, so ETags, carry over) and verified against the source by count and
/// checksum; any difference rolls it back and aborts the move.</item>
/// <item><b>switching</b>: the map places the shard on the target, open, in the same transaction as the step.</item>
/// <item><b>cleaning</b>: the source's rows of the shard are deleted; its fence stays (a stale process is refused forever).</item>
/// </list>
/// A failure before the switch aborts: the map goes back to open on the source and the source's fence is lifted.
/// </summary>
public sealed partial class ShardMover(
    NpgsqlDataSource control, ShardDatabases databases, ShardDirectory directory, IOptions<StorageOptions> options,
    Telemetry.MediaMetrics metrics, ILogger<ShardMover> logger)
{
    private static readonly (string Table, string ServiceColumn, string IdColumn)[] Tables =
    [
        ("orleansstorage", "serviceid", "grainidn1"),
        ("media_index", "service_id", "media_id"),
    ];

    /// <summary>Records a new move of <paramref name="shard"/> to <paramref name="target"/>.</summary>
    public async Task<ShardMove> BeginAsync(int shard, string target, CancellationToken cancellationToken)
    {
        if (shard is < 0 or >= ShardKey.LogicalShards)
        {
            throw new ShardMoveRefusedException($"A logical shard is 0 to {ShardKey.LogicalShards - 1}.", conflict: false);
        }

        if (!databases.Names.Contains(target))
        {
            throw new ShardMoveRefusedException($"'{target}' is not a configured storage database ({string.Join(", ", databases.Names.Order(StringComparer.Ordinal))}).", conflict: false);
        }

        var placement = (await directory.ReloadAsync(cancellationToken)).Placements[shard];
        if (placement.Database == target)
        {
            throw new ShardMoveRefusedException($"Shard {shard} is on {target} already.", conflict: true);
        }

        if (placement.State != ShardState.Open)
        {
            throw new ShardMoveRefusedException($"Shard {shard} is being moved.", conflict: true);
        }

        await using var command = control.CreateCommand("""
            INSERT INTO shard_moves (service_id, shard, source, target, step) VALUES (@service, @shard, @source, @target, 'draining')
            ON CONFLICT DO NOTHING RETURNING id
            """);
        command.Parameters.AddWithValue("service", directory.ServiceId);
        command.Parameters.AddWithValue("shard", (short)shard);
        command.Parameters.AddWithValue("source", placement.Database);
        command.Parameters.AddWithValue("target", target);
        if (await command.ExecuteScalarAsync(cancellationToken) is not long id)
        {
            throw new ShardMoveRefusedException($"A move of shard {shard} is unfinished.", conflict: true);
        }

        LogBegun(logger, id, shard, placement.Database, target);
        return (await GetAsync(id, cancellationToken))!;
    }

    /// <summary>The shard's unfinished move, if any.</summary>
    public async Task<ShardMove?> UnfinishedAsync(int shard, CancellationToken cancellationToken) =>
        (await ListAsync("shard = @shard AND finished_at IS NULL", p => p.AddWithValue("shard", (short)shard), 1, cancellationToken)).FirstOrDefault();

    /// <summary>A move by id.</summary>
    public async Task<ShardMove?> GetAsync(long id, CancellationToken cancellationToken) =>
        (await ListAsync("id = @id", p => p.AddWithValue("id", id), 1, cancellationToken)).FirstOrDefault();

    /// <summary>The latest moves of the service, newest first.</summary>
    public Task<IReadOnlyList<ShardMove>> RecentAsync(int count, CancellationToken cancellationToken) =>
        ListAsync("TRUE", _ => { }, count, cancellationToken);

    /// <summary>Runs the move's steps from its current one to the end. <paramref name="deactivate"/> takes the shard's
    /// items out of memory. Returns the move as it ended (done or aborted).</summary>
    public async Task<ShardMove> RunAsync(long id, Func<int, CancellationToken, Task<int>> deactivate, CancellationToken cancellationToken)
    {
        var move = await GetAsync(id, cancellationToken) ?? throw new InvalidOperationException($"No shard move {id}.");

        // One run of a move at a time, cluster-wide (a second activation of the move's grain, a reminder beside a run in
        // flight): a session lock of the control database, held by this connection for the whole run and released if
        // this process dies.
        await using var guard = await control.OpenConnectionAsync(cancellationToken);
        await using (var take = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtext('shard_move:' || @service), @shard)", guard))
        {
            take.Parameters.AddWithValue("service", directory.ServiceId);
            take.Parameters.AddWithValue("shard", move.Shard);
            if (await take.ExecuteScalarAsync(cancellationToken) is not true)
            {
                return move;
            }
        }

        try
        {
            move = await GetAsync(id, cancellationToken) ?? move;
            return await StepsAsync(move, deactivate, cancellationToken);
        }
        finally
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtext('shard_move:' || @service), @shard)", guard);
            release.Parameters.AddWithValue("service", directory.ServiceId);
            release.Parameters.AddWithValue("shard", move.Shard);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private async Task<ShardMove> StepsAsync(ShardMove move, Func<int, CancellationToken, Task<int>> deactivate, CancellationToken cancellationToken)
    {
        try
        {
            while (move.FinishedAt is null)
            {
                move = move.Step switch
                {
                    "draining" => await DrainAsync(move, cancellationToken),
                    "deactivating" => await StepAsync(move, "fencing", new() { ["left_in_memory"] = await deactivate(move.Shard, cancellationToken) }, cancellationToken),
                    "fencing" => await FenceAsync(move, cancellationToken),
                    "copying" => await CopyAsync(move, cancellationToken),
                    "switching" => await SwitchAsync(move, cancellationToken),
                    "cleaning" => await CleanAsync(move, cancellationToken),
                    _ => throw new InvalidOperationException($"Shard move {move.Id} is at an unknown step '{move.Step}'."),
                };
            }
        }
        catch (Exception ex) when (move.Step is not ("cleaning" or "done") && !cancellationToken.IsCancellationRequested)
        {
            // The switch commits its step with the map: a move that got that far is finished by a later run (its
            // reminder), never aborted.
            if ((await GetAsync(move.Id, cancellationToken))?.Step is "cleaning" or "done")
            {
                throw;
            }

            LogFailed(logger, move.Id, move.Shard, move.Step, ex.Message);
            move = await AbortAsync(move, $"{move.Step}: {ex.Message}", cancellationToken);
        }

        return move;
    }

    private async Task<ShardMove> DrainAsync(ShardMove move, CancellationToken cancellationToken)
    {
        await using (var connection = await control.OpenConnectionAsync(cancellationToken))
        {
            // Idempotent: a resumed move finds the shard draining already.
            await directory.SetAsync(move.Shard, new ShardPlacement(move.Shard, move.Source, ShardState.Open),
                new ShardPlacement(move.Shard, move.Source, ShardState.Draining), connection, null, cancellationToken);
        }

        var map = await directory.ReloadAsync(cancellationToken);
        if (map.Placements[move.Shard] is not { State: ShardState.Draining } placement || placement.Database != move.Source)
        {
            throw new InvalidOperationException($"Shard {move.Shard} is not draining on {move.Source} (the map changed under the move).");
        }

        // Every process reads the map again within MapRefresh of its next call; wait for two of those.
        await Task.Delay(options.Value.MapRefresh * 2 + TimeSpan.FromMilliseconds(200), cancellationToken);
        return await StepAsync(move, "deactivating", null, cancellationToken);
    }

    private async Task<ShardMove> FenceAsync(ShardMove move, CancellationToken cancellationToken)
    {
        var source = databases[move.Source];
        await using var connection = await source.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtext(@service), @shard)", move, cancellationToken);
        await ExecuteAsync(connection, transaction, """
            INSERT INTO shard_fences (service_id, shard, reason) VALUES (@service, @shard, 'moved to ' || @target) ON CONFLICT DO NOTHING
            """, move, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return await StepAsync(move, "copying", null, cancellationToken);
    }

    private async Task<ShardMove> CopyAsync(ShardMove move, CancellationToken cancellationToken)
    {
        var source = databases[move.Source];
        var target = databases[move.Target];
        await using var from = await source.DataSource.OpenConnectionAsync(cancellationToken);
        await using var to = await target.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await to.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(to, transaction, "SET LOCAL media.fence_bypass = 'on'", move, cancellationToken);
        // The checksums hash rows' text: the same output settings on both sides.
        const string TextSettings = "SET LOCAL TimeZone = 'UTC'; SET LOCAL bytea_output = 'hex'; SET LOCAL DateStyle = 'ISO, MDY'; SET LOCAL IntervalStyle = 'postgres'";
        await ExecuteAsync(to, transaction, TextSettings, move, cancellationToken);
        await using var fromTransaction = await from.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        await ExecuteAsync(from, fromTransaction, TextSettings, move, cancellationToken);
        var rows = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (table, serviceColumn, idColumn) in Tables)
        {
            var filter = Filter(move, serviceColumn, idColumn);
            var columns = await ColumnsAsync(from, table, cancellationToken);
            if (!columns.SequenceEqual(await ColumnsAsync(to, table, cancellationToken)))
            {
                throw new InvalidOperationException($"The table {table} differs between {move.Source} and {move.Target} (migrate both).");
            }

            var list = string.Join(", ", columns);
            await using (var delete = new NpgsqlCommand($"DELETE FROM {table} WHERE {filter}", to, transaction))
            {
                await delete.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var reader = await from.BeginRawBinaryCopyAsync($"COPY (SELECT {list} FROM {table} WHERE {filter}) TO STDOUT (FORMAT BINARY)", cancellationToken))
            await using (var writer = await to.BeginRawBinaryCopyAsync($"COPY {table} ({list}) FROM STDIN (FORMAT BINARY)", cancellationToken))
            {
                await reader.CopyToAsync(writer, cancellationToken);
            }

            var copied = await ChecksumAsync(from, fromTransaction, table, list, filter, cancellationToken);
            var landed = await ChecksumAsync(to, transaction, table, list, filter, cancellationToken);
            if (copied != landed)
            {
                throw new InvalidOperationException(
                    $"Verification of {table} failed: {copied.Count} rows (checksum {copied.Sum}) in {move.Source}, {landed.Count} ({landed.Sum}) in {move.Target}.");
            }

            rows[table] = copied.Count;
            metrics.ShardRowsMoved(table, copied.Count);
        }

        // The target may hold a fence of this shard from a move away from it: lifted, since the map points here next.
        await ExecuteAsync(to, transaction, "DELETE FROM shard_fences WHERE service_id = @service AND shard = @shard", move, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return await StepAsync(move, "switching", rows, cancellationToken);
    }

    private async Task<ShardMove> SwitchAsync(ShardMove move, CancellationToken cancellationToken)
    {
        await using (var connection = await control.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            var switched = await directory.SetAsync(move.Shard, new ShardPlacement(move.Shard, move.Source, ShardState.Draining),
                new ShardPlacement(move.Shard, move.Target, ShardState.Open), connection, transaction, cancellationToken);
            var current = await PlacementAsync(connection, transaction, directory.ServiceId, move.Shard, cancellationToken);
            if (!switched && current != (move.Target, "open"))
            {
                throw new InvalidOperationException($"Shard {move.Shard} is not draining on {move.Source} (the map changed under the move).");
            }

            await using var step = new NpgsqlCommand("UPDATE shard_moves SET step = 'cleaning', step_at = now() WHERE id = @id AND finished_at IS NULL", connection, transaction);
            step.Parameters.AddWithValue("id", move.Id);
            await step.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await directory.ReloadAsync(cancellationToken);
        LogSwitched(logger, move.Id, move.Shard, move.Target);
        return (await GetAsync(move.Id, cancellationToken))!;
    }

    private async Task<ShardMove> CleanAsync(ShardMove move, CancellationToken cancellationToken)
    {
        var source = databases[move.Source];
        foreach (var (table, serviceColumn, idColumn) in Tables)
        {
            while (true)
            {
                await using var connection = await source.DataSource.OpenConnectionAsync(cancellationToken);
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await ExecuteAsync(connection, transaction, "SET LOCAL media.fence_bypass = 'on'", move, cancellationToken);
                await using var delete = new NpgsqlCommand(
                    $"DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} WHERE {Filter(move, serviceColumn, idColumn)} LIMIT 1000)", connection, transaction);
                var deleted = await delete.ExecuteNonQueryAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                if (deleted == 0)
                {
                    break;
                }
            }
        }

        await using var finish = control.CreateCommand("UPDATE shard_moves SET step = 'done', step_at = now(), finished_at = now() WHERE id = @id AND finished_at IS NULL");
        finish.Parameters.AddWithValue("id", move.Id);
        await finish.ExecuteNonQueryAsync(cancellationToken);
        LogDone(logger, move.Id, move.Shard, move.Source, move.Target, string.Join(", ", move.Rows.Select(r => $"{r.Key} {r.Value}")));
        return (await GetAsync(move.Id, cancellationToken))!;
    }

    // Nothing was switched (the run holds the move's lock, and the switch commits its step with the map): the shard
    // lives in the source. The target's copy goes (a fence back on it, should it be a stale process's idea of the
    // shard's home), then the source's fence, and last the map reopens the shard there and the move ends, in one
    // transaction. A failure on the way leaves the move unfinished at its step: its reminder runs it again.
    private async Task<ShardMove> AbortAsync(ShardMove move, string error, CancellationToken cancellationToken)
    {
        await using (var connection = await databases[move.Target].DataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await ExecuteAsync(connection, transaction, "SET LOCAL media.fence_bypass = 'on'", move, cancellationToken);
            foreach (var (table, serviceColumn, idColumn) in Tables)
            {
                await using var delete = new NpgsqlCommand($"DELETE FROM {table} WHERE {Filter(move, serviceColumn, idColumn)}", connection, transaction);
                await delete.ExecuteNonQueryAsync(cancellationToken);
            }

            await ExecuteAsync(connection, transaction, """
                INSERT INTO shard_fences (service_id, shard, reason) VALUES (@service, @shard, 'a move here was aborted') ON CONFLICT DO NOTHING
                """, move, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await using (var connection = await databases[move.Source].DataSource.OpenConnectionAsync(cancellationToken))
        {
            await ExecuteAsync(connection, null, "DELETE FROM shard_fences WHERE service_id = @service AND shard = @shard", move, cancellationToken);
        }

        await using (var connection = await control.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await directory.SetAsync(move.Shard, new ShardPlacement(move.Shard, move.Source, ShardState.Draining),
                new ShardPlacement(move.Shard, move.Source, ShardState.Open), connection, transaction, cancellationToken);
            await using var finish = new NpgsqlCommand(
                "UPDATE shard_moves SET step = 'aborted', error = @error, step_at = now(), finished_at = now() WHERE id = @id AND finished_at IS NULL",
                connection, transaction);
            finish.Parameters.AddWithValue("id", move.Id);
            finish.Parameters.AddWithValue("error", error);
            await finish.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await directory.ReloadAsync(cancellationToken);
        return (await GetAsync(move.Id, cancellationToken))!;
    }

    private async Task<ShardMove> StepAsync(ShardMove move, string next, Dictionary<string, long>? rows, CancellationToken cancellationToken)
    {
        await using var command = control.CreateCommand(
            "UPDATE shard_moves SET step = @step, step_at = now(), rows = rows || @rows::jsonb WHERE id = @id AND finished_at IS NULL");
        command.Parameters.AddWithValue("id", move.Id);
        command.Parameters.AddWithValue("step", next);
        command.Parameters.AddWithValue("rows", JsonSerializer.Serialize(rows ?? []));
        await command.ExecuteNonQueryAsync(cancellationToken);
        return (await GetAsync(move.Id, cancellationToken))!;
    }

    [LoggerMessage(EventId = LogEvents.Storage + 10, Level = LogLevel.Information, Message = "Shard move {MoveId}: shard {Shard} from {Source} to {Target} begun")]
    private static partial void LogBegun(ILogger logger, long moveId, int shard, string source, string target);

    [LoggerMessage(EventId = LogEvents.Storage + 11, Level = LogLevel.Information, Message = "Shard move {MoveId}: shard {Shard} now on {Target}")]
    private static partial void LogSwitched(ILogger logger, long moveId, int shard, string target);

    [LoggerMessage(EventId = LogEvents.Storage + 12, Level = LogLevel.Information, Message = "Shard move {MoveId}: shard {Shard} moved from {Source} to {Target} ({Rows})")]
    private static partial void LogDone(ILogger logger, long moveId, int shard, string source, string target, string rows);

    [LoggerMessage(EventId = LogEvents.Storage + 13, Level = LogLevel.Warning, Message = "Shard move {MoveId}: shard {Shard} failed at {Step} ({Error}); aborted, the shard stays where it was")]
    private static partial void LogFailed(ILogger logger, long moveId, int shard, string step, string error);
}
