using System.Globalization;
using System.Text.Json;
using Npgsql;

namespace MediaService.DataPlane.Sharding;

// The SQL of a move: where a shard is, the filter of its rows, their columns and checksum, and the moves' own rows.
public sealed partial class ShardMover
{
    private static async Task<(string Database, string State)?> PlacementAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string serviceId, int shard,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT database, state FROM shard_map WHERE service_id = @service AND shard = @shard", connection, transaction);
        command.Parameters.AddWithValue("service", serviceId);
        command.Parameters.AddWithValue("shard", (short)shard);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetString(0), reader.GetString(1)) : null;
    }

    private string Filter(ShardMove move, string serviceColumn, string idColumn) =>
        // COPY takes no parameters: the service id is quoted as a literal (doubling quotes), the shard is a number.
        $"{serviceColumn} = '{directory.ServiceId.Replace("'", "''", StringComparison.Ordinal)}' AND {ShardSql.ShardOf(idColumn)} = {move.Shard.ToString(CultureInfo.InvariantCulture)}";

    private static async Task<IReadOnlyList<string>> ColumnsAsync(NpgsqlConnection connection, string table, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = @table AND is_generated = 'NEVER'
            ORDER BY column_name
            """, connection);
        command.Parameters.AddWithValue("table", table);
        var columns = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            columns.Add(reader.GetString(0));
        }

        return columns;
    }

    // Count and an order-independent sum of each row's md5 (its text form, with timestamps in UTC on both sides).
    private static async Task<(long Count, string Sum)> ChecksumAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string table, string columns, string filter,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"""
            SELECT count(*), coalesce(sum(('x' || left(md5(t::text), 16))::bit(64)::bigint::numeric), 0)::text
            FROM (SELECT {columns} FROM {table} WHERE {filter}) AS t
            """, connection, transaction);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetString(1));
    }

    private async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, ShardMove move, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        if (sql.Contains("@service", StringComparison.Ordinal))
        {
            command.Parameters.AddWithValue("service", directory.ServiceId);
        }

        if (sql.Contains("@shard", StringComparison.Ordinal))
        {
            command.Parameters.AddWithValue("shard", (short)move.Shard);
        }

        if (sql.Contains("@target", StringComparison.Ordinal))
        {
            command.Parameters.AddWithValue("target", move.Target);
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<IReadOnlyList<ShardMove>> ListAsync(string where, Action<NpgsqlParameterCollection> bind, int limit, CancellationToken cancellationToken)
    {
        await using var command = control.CreateCommand($"""
            SELECT id, shard, source, target, step, rows::text, error, started_at, step_at, finished_at
            FROM shard_moves WHERE service_id = @service AND {where} ORDER BY id DESC LIMIT @limit
            """);
        command.Parameters.AddWithValue("service", directory.ServiceId);
        command.Parameters.AddWithValue("limit", limit);
        bind(command.Parameters);
        var moves = new List<ShardMove>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            moves.Add(new ShardMove(
                reader.GetInt64(0), reader.GetInt16(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                JsonSerializer.Deserialize<Dictionary<string, long>>(reader.GetString(5)) ?? [],
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.GetFieldValue<DateTimeOffset>(7), reader.GetFieldValue<DateTimeOffset>(8),
                reader.IsDBNull(9) ? null : reader.GetFieldValue<DateTimeOffset>(9)));
        }

        return moves;
    }
}
