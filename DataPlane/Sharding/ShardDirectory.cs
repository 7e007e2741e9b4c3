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
    NpgsqlDataSource control, ShardDatabases databases, MediaServiceId serviceId, IOptions<StorageOptions> options, ILogger<ShardDirectory> logger)
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
        catch (Exception ex) when (map is not null && Resilience.IsPostgresUnavailable(ex))
        {
            LogStale(logger, map.Epoch, ex.Message);
            return map;
        }
        finally
        {
            _gate.Release();
        }
    }

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
        var map = await ReadAsync(cancellationToken) ?? await SeedAsync(cancellationToken);
        if (map.Check(databases.Names) is { } problem)
        {
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

    // The first start of a service: shards spread over the configured databases. A service that already kept items in
    // the control database before it was sharded keeps all of them there (every shard on the configured database that
    // is the control one); shards are then moved one by one (the move procedure), never re-homed by configuration.
    private async Task<ShardMap> SeedAsync(CancellationToken cancellationToken)
    {
        await using var connection = await control.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext('shard_map:' || @service))", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("service", serviceId.Value);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        bool legacy;
        await using (var existing = new NpgsqlCommand("""
            SELECT EXISTS (SELECT 1 FROM shard_map WHERE service_id = @service),
                   EXISTS (SELECT 1 FROM OrleansStorage WHERE ServiceId = @service) OR EXISTS (SELECT 1 FROM media_index WHERE service_id = @service)
            """, connection, transaction))
        {
            existing.Parameters.AddWithValue("service", serviceId.Value);
            await using var reader = await existing.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            if (reader.GetBoolean(0))
            {
                await reader.DisposeAsync();
                await transaction.RollbackAsync(cancellationToken);
                return await ReadAsync(cancellationToken) ?? throw new InvalidOperationException("The shard map vanished while it was read.");
            }

            legacy = reader.GetBoolean(1);
        }

        var controlDatabase = databases.All.FirstOrDefault(d => d.IsControl);
        var map = legacy && controlDatabase is not null && databases.All.Count > 1
            ? ShardMap.Of(1, Enumerable.Range(0, ShardKey.LogicalShards).Select(s => new ShardPlacement(s, controlDatabase.Name, ShardState.Open)))
            : ShardMap.Seed(databases.Names);
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
        LogSeeded(logger, serviceId.Value, string.Join(", ", map.Databases.Select(d => $"{d}: {map.ShardsOn(d).Count}")), legacy);
        return map;
    }

    [LoggerMessage(EventId = 4703, Level = LogLevel.Information, Message = "Shard map of service {ServiceId} seeded ({Spread}; items stored before sharding: {Legacy})")]
    private static partial void LogSeeded(ILogger logger, string serviceId, string spread, bool legacy);

    [LoggerMessage(EventId = 4704, Level = LogLevel.Information, Message = "Shard map changed: epoch {Before} -> {After}")]
    private static partial void LogChanged(ILogger logger, long before, long after);

    [LoggerMessage(EventId = 4705, Level = LogLevel.Warning, Message = "Shard map not reloaded (the control database did not answer: {Error}); routing by epoch {Epoch}")]
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
