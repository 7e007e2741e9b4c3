using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace MediaService.DataPlane.Sharding;

/// <summary>
/// The shard map of the service, kept in the control database (<c>shard_map</c>, migration 010) and read by every
/// process: it is seeded on the service's first start, and reloaded when older than <see cref="StorageOptions.MapRefresh"/>
/// (a moved shard shows everywhere within that). While the control database does not answer, the last map read is
/// used. A map that names a database this process does not configure stops it (at start) rather than lose items.
/// </summary>
public sealed partial class ShardDirectory(
    NpgsqlDataSource control, ShardDatabases databases, MediaServiceId serviceId, IOptions<StorageOptions> options, ILogger<ShardDirectory> logger) : IShardMapSource
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile ShardMap? _map;
    private long _checkedAt;

    /// <summary>The map last read (null before the first read).</summary>
    public ShardMap? Current => _map;

    /// <summary>The service the map belongs to.</summary>
    public string ServiceId => serviceId.Value;

    /// <summary>The map, reloaded when it is older than <see cref="StorageOptions.MapRefresh"/>.</summary>
    public async ValueTask<ShardMap> MapAsync(CancellationToken cancellationToken = default)
    {
        var map = _map;
        if (map is not null && Stopwatch.GetElapsedTime(Interlocked.Read(ref _checkedAt)) < options.Value.MapRefresh)
        {
            return map;
        }

        if (map is not null)
        {
            // Someone is reloading: this call goes on with the map it has.
            if (!await _gate.WaitAsync(0, cancellationToken))
            {
                return map;
            }
        }
        else
        {
            await _gate.WaitAsync(cancellationToken);
        }

        try
        {
            if (_map is { } fresh && Stopwatch.GetElapsedTime(Interlocked.Read(ref _checkedAt)) < options.Value.MapRefresh)
            {
                return fresh;
            }

            Interlocked.Exchange(ref _checkedAt, Stopwatch.GetTimestamp());
            return await LoadAsync(cancellationToken);
        }
        catch (Exception ex) when (map is not null && !cancellationToken.IsCancellationRequested
            && (Resilience.IsPostgresUnavailable(ex) || ex is OperationCanceledException or InvalidOperationException))
        {
            LogStale(logger, map.Epoch, ex.Message);
            return map;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Makes the next call read the map again (a database refused a shard as moved: this map is old).</summary>
    public void Invalidate() => Interlocked.Exchange(ref _checkedAt, 0);

    /// <summary>Reads the map now (after a change this process made, or when told another process made one).</summary>
    public async Task<ShardMap> ReloadAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            Interlocked.Exchange(ref _checkedAt, Stopwatch.GetTimestamp());
            return await LoadAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Changes one shard's placement if it is still as expected (a compare-and-set on the row), in
    /// <paramref name="transaction"/> when given; the epoch goes up. False when the row was not as expected.</summary>
    public async Task<bool> SetAsync(int shard, ShardPlacement expected, ShardPlacement next, NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            UPDATE shard_map SET database = @database, state = @state, changed_at = now(),
                   epoch = (SELECT max(epoch) + 1 FROM shard_map WHERE service_id = @service)
            WHERE service_id = @service AND shard = @shard AND database = @expectedDatabase AND state = @expectedState
            """, connection, transaction);
        command.Parameters.AddWithValue("service", serviceId.Value);
        command.Parameters.AddWithValue("shard", (short)shard);
        command.Parameters.AddWithValue("database", next.Database);
        command.Parameters.AddWithValue("state", StateName(next.State));
        command.Parameters.AddWithValue("expectedDatabase", expected.Database);
        command.Parameters.AddWithValue("expectedState", StateName(expected.State));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>A state as stored.</summary>
    public static string StateName(ShardState state) => state == ShardState.Open ? "open" : "draining";

    private async Task<ShardMap> LoadAsync(CancellationToken cancellationToken)
    {
        // Bounded: a control database that does not answer must not hold a call for its connection's full timeouts
        // (the caller goes on with the map it has).
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_map is not null)
        {
            timeout.CancelAfter(options.Value.ProbeTimeout * 3);
        }

        var map = await ReadAsync(timeout.Token) ?? await SeedAsync(cancellationToken);
        if (map.Check(databases.Names) is { } problem)
        {
            // At start, the process stops; later (someone changed the map), it goes on with the map it had.
            throw new InvalidOperationException(problem);
        }

        if (_map is { } before && before.Epoch != map.Epoch)
        {
            LogChanged(logger, before.Epoch, map.Epoch);
        }

        _map = map;
        return map;
    }

    private async Task<ShardMap?> ReadAsync(CancellationToken cancellationToken)
    {
        await using var command = control.CreateCommand("SELECT shard, database, state, epoch FROM shard_map WHERE service_id = @service");
        command.Parameters.AddWithValue("service", serviceId.Value);
        var rows = new List<ShardPlacement>();
        long epoch = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new ShardPlacement(reader.GetInt16(0), reader.GetString(1), reader.GetString(2) == "open" ? ShardState.Open : ShardState.Draining));
            epoch = Math.Max(epoch, reader.GetInt64(3));
        }

        return rows.Count == 0 ? null : ShardMap.Of(epoch, rows);
    }

    // The first start of a service: each logical shard on the database that already holds its items' state (a service
    // that stored items before it was sharded keeps them where they are; shards are then moved one by one, never
    // re-homed by configuration), the others spread over the configured databases (shard s on the s mod N-th, in name
    // order). Items of one shard in two databases, or in a control database that Storage:Shards does not name, stop the
    // process: no map could find them all.
    private async Task<ShardMap> SeedAsync(CancellationToken cancellationToken)
    {
        await using var connection = await control.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext('shard_map:' || @service))", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("service", serviceId.Value);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var existing = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM shard_map WHERE service_id = @service)", connection, transaction))
        {
            existing.Parameters.AddWithValue("service", serviceId.Value);
            if (await existing.ExecuteScalarAsync(cancellationToken) is true)
            {
                await transaction.RollbackAsync(cancellationToken);
                return await ReadAsync(cancellationToken) ?? throw new InvalidOperationException("The shard map vanished while it was read.");
            }
        }

        var held = new Dictionary<int, List<string>>();
        foreach (var database in databases.All)
        {
            foreach (var shard in await ShardsWithStateAsync(database.DataSource, cancellationToken))
            {
                (held.TryGetValue(shard, out var list) ? list : held[shard] = []).Add(database.Name);
            }
        }

        if (!databases.All.Any(d => d.IsControl) && (await ShardsWithStateAsync(control, cancellationToken)).Count > 0)
        {
            throw new InvalidOperationException(
                $"The control database holds items of service {serviceId.Value} stored before sharding, and Storage:Shards does not name it: " +
                "add it (for example Storage:Shards:main = the ConnectionStrings:Media string) and move its shards afterwards.");
        }

        if (held.Where(h => h.Value.Count > 1).ToList() is { Count: > 0 } split)
        {
            throw new InvalidOperationException($"Items of one logical shard are in two databases ({string.Join("; ",
                split.Select(h => $"shard {h.Key}: {string.Join(", ", h.Value)}"))}): no shard map can be made. Remove the copies that are not live.");
        }

        var spread = ShardMap.Seed(databases.Names);
        var map = ShardMap.Of(1, spread.Placements.Select(p => held.TryGetValue(p.Shard, out var where) ? p with { Database = where[0] } : p));
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO shard_map (service_id, shard, database, state, epoch)
            SELECT @service, s, d, 'open', 1 FROM unnest(@shards, @databases) AS t(s, d)
            ON CONFLICT DO NOTHING
            """, connection, transaction))
        {
            insert.Parameters.AddWithValue("service", serviceId.Value);
            insert.Parameters.AddWithValue("shards", map.Placements.Select(p => (short)p.Shard).ToArray());
            insert.Parameters.AddWithValue("databases", map.Placements.Select(p => p.Database).ToArray());
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        LogSeeded(logger, serviceId.Value, string.Join(", ", map.Databases.Select(d => $"{d}: {map.ShardsOn(d).Count}")), held.Count);
        return map;
    }

    private async Task<IReadOnlyList<int>> ShardsWithStateAsync(NpgsqlDataSource source, CancellationToken cancellationToken)
    {
        await using var command = source.CreateCommand($"SELECT DISTINCT {ShardSql.ShardOf("grainidn1")}::int FROM orleansstorage WHERE serviceid = @service");
        command.Parameters.AddWithValue("service", serviceId.Value);
        var shards = new List<int>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            shards.Add(reader.GetInt32(0));
        }

        return shards;
    }

    [LoggerMessage(EventId = LogEvents.Storage + 3, Level = LogLevel.Information, Message = "Shard map of service {ServiceId} seeded ({Spread}; {Held} shards kept where their items already were)")]
    private static partial void LogSeeded(ILogger logger, string serviceId, string spread, int held);

    [LoggerMessage(EventId = LogEvents.Storage + 4, Level = LogLevel.Information, Message = "Shard map changed: epoch {Before} -> {After}")]
    private static partial void LogChanged(ILogger logger, long before, long after);

    [LoggerMessage(EventId = LogEvents.Storage + 5, Level = LogLevel.Warning, Message = "Shard map not reloaded (the control database did not answer: {Error}); routing by epoch {Epoch}")]
    private static partial void LogStale(ILogger logger, long epoch, string error);
}

/// <summary>Reads the shard map at start-up, so that a process whose configuration does not match the map (a database
/// it names is missing) stops at once instead of failing item by item.</summary>
public sealed class ShardDirectoryStartup(ShardDirectory directory) : IHostedService
{
    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken) => await directory.MapAsync(cancellationToken);

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
