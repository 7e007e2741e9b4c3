using System.Diagnostics;
using Npgsql;

namespace MediaService.DataPlane.Sharding;

/// <summary>What one logical shard holds in its database.</summary>
/// <param name="Items">Items in the index (deleted ones are not).</param>
/// <param name="MediaBytes">Bytes of stored media (in S3) of those items.</param>
/// <param name="RowBytes">Bytes of their state rows.</param>
public sealed record ShardUsage(long Items, long MediaBytes, long RowBytes);

/// <summary>What one database holds: per logical shard (every shard it has rows of, the map's or leftovers), and its
/// size on disk; or why it did not answer.</summary>
public sealed record DatabaseUsage(IReadOnlyDictionary<int, ShardUsage> Shards, long DatabaseBytes, string? Error, DateTimeOffset At);

/// <summary>Counts and sizes of every storage database for <c>GET /admin/storage</c>: one query per database under a
/// statement timeout, cached for a few seconds; a database that does not answer is reported with its error, never
/// failing the whole answer.</summary>
public sealed class ShardStatistics(ShardDatabases databases, MediaServiceId serviceId)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(10);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (DatabaseUsage Usage, long At)> _cache = new(StringComparer.Ordinal);

    /// <summary>Every database's usage (at most <see cref="CacheFor"/> old).</summary>
    public async Task<IReadOnlyDictionary<string, DatabaseUsage>> UsageAsync(bool fresh, CancellationToken cancellationToken)
    {
        var answers = await Task.WhenAll(databases.All.Select(async d =>
            (d.Name, Usage: !fresh && _cache.TryGetValue(d.Name, out var cached) && Stopwatch.GetElapsedTime(cached.At) < CacheFor
                ? cached.Usage
                : await ReadAsync(d, cancellationToken))));
        return answers.ToDictionary(a => a.Name, a => a.Usage, StringComparer.Ordinal);
    }

    private async Task<DatabaseUsage> ReadAsync(ShardDatabase database, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(4));
            await using var connection = await database.DataSource.OpenConnectionAsync(timeout.Token);
            await using var transaction = await connection.BeginTransactionAsync(timeout.Token);
            await using (var limit = new NpgsqlCommand("SET LOCAL statement_timeout = '3s'", connection, transaction))
            {
                await limit.ExecuteNonQueryAsync(timeout.Token);
            }

            var shards = new Dictionary<int, ShardUsage>();
            await using (var command = new NpgsqlCommand($"""
                SELECT s, sum(items)::bigint, sum(bytes)::bigint, sum(row_bytes)::bigint FROM (
                    SELECT {ShardSql.ShardOf("media_id")} AS s, count(*) AS items,
                           coalesce(sum(CASE WHEN status = 'stored' THEN size ELSE 0 END), 0) AS bytes, 0 AS row_bytes
                    FROM media_index WHERE service_id = @service GROUP BY 1
                    UNION ALL
                    SELECT {ShardSql.ShardOf("grainidn1")}, 0, 0, coalesce(sum(octet_length(payloadbinary)), 0)
                    FROM orleansstorage WHERE serviceid = @service GROUP BY 1) AS t
                GROUP BY s
                """, connection, transaction))
            {
                command.Parameters.AddWithValue("service", serviceId.Value);
                await using var reader = await command.ExecuteReaderAsync(timeout.Token);
                while (await reader.ReadAsync(timeout.Token))
                {
                    shards[(int)reader.GetInt64(0)] = new ShardUsage(reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
                }
            }

            long size;
            await using (var command = new NpgsqlCommand("SELECT pg_database_size(current_database())", connection, transaction))
            {
                size = (long)(await command.ExecuteScalarAsync(timeout.Token))!;
            }

            var usage = new DatabaseUsage(shards, size, null, DateTimeOffset.UtcNow);
            _cache[database.Name] = (usage, Stopwatch.GetTimestamp());
            return usage;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            return new DatabaseUsage(new Dictionary<int, ShardUsage>(), 0, ex is OperationCanceledException ? "no answer in time" : ex.Message, DateTimeOffset.UtcNow);
        }
    }
}
