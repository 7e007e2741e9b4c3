using System.Globalization;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Polly;

namespace MediaService.DataPlane;

/// <summary>One item's row in the search index.</summary>
public sealed record IndexEntry(
    long MediaId,
    long Version,
    string Status,
    string? Processing,
    string? Kind,
    string ContentType,
    long Size,
    string? FileName,
    string? Title,
    string? Description,
    IReadOnlyList<string> Tags,
    IReadOnlyList<string> Keywords,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string Owner = "",
    long? DeclaredLength = null);

/// <summary>What one owner uses: bytes stored or announced by unfinished uploads, and how many uploads are unfinished.</summary>
public sealed record OwnerUsage(long Bytes, int UnfinishedUploads);

/// <summary>How search results are ordered.</summary>
public enum SearchSort
{
    /// <summary>Newest first.</summary>
    Created,

    /// <summary>Best text match first (needs a text query).</summary>
    Relevance,
}

/// <summary>A search: every filter given must hold.</summary>
/// <param name="Tags">Tags the item must all carry (normalized).</param>
/// <param name="Text">Free text over title, keywords and description (web search syntax: words, "phrases", -not, or).</param>
/// <param name="Kind">image, video or audio.</param>
/// <param name="Status">An upload status (receiving, stored, failed, ...) or a processing status (processing, ready, rejected).</param>
/// <param name="CreatedAfter">Created strictly after.</param>
/// <param name="CreatedBefore">Created strictly before.</param>
/// <param name="Sort">The order.</param>
/// <param name="Limit">Items per page.</param>
/// <param name="After">Where the previous page ended.</param>
/// <param name="Owner">Whose items: a search only ever sees one owner's items.</param>
public sealed record SearchQuery(
    IReadOnlyList<string> Tags,
    string? Text,
    string? Kind,
    string? Status,
    DateTimeOffset? CreatedAfter,
    DateTimeOffset? CreatedBefore,
    SearchSort Sort,
    int Limit,
    SearchCursor? After,
    string Owner = "");

/// <summary>A position in a result list: the last item of a page, by the page's sort key. Opaque to clients.</summary>
public sealed record SearchCursor(SearchSort Sort, long CreatedAtTicks, float Rank, long MediaId)
{
    /// <summary>The cursor as a URL-safe token.</summary>
    public string Encode() => System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(
        string.Create(CultureInfo.InvariantCulture, $"{(Sort == SearchSort.Created ? 'c' : 'r')}|{CreatedAtTicks}|{BitConverter.SingleToInt32Bits(Rank)}|{MediaId}")));

    /// <summary>Reads a token made by <see cref="Encode"/>; null when it is not one (a forged one included: its time
    /// must be a time and its rank a number).</summary>
    public static SearchCursor? Decode(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 200)
        {
            return null;
        }

        try
        {
            var parts = Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(token)).Split('|');
            return parts.Length == 4 && parts[0] is "c" or "r"
                && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                && int.TryParse(parts[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var rank)
                && long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                && ticks <= DateTimeOffset.MaxValue.UtcTicks && float.IsFinite(BitConverter.Int32BitsToSingle(rank))
                ? new SearchCursor(parts[0] == "c" ? SearchSort.Created : SearchSort.Relevance, ticks, BitConverter.Int32BitsToSingle(rank), id)
                : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>One page of results and where the next starts (null on the last page). <paramref name="Partial"/>: some
/// storage database did not answer (or a shard is being moved), so items of it may be missing.</summary>
public sealed record SearchPage(IReadOnlyList<IndexEntry> Items, SearchCursor? Next, bool Partial = false);

/// <summary>One row of one database's answer to a search, with its rank (0 unless ranked by relevance).</summary>
public sealed record SearchRow(IndexEntry Entry, float Rank);

/// <summary>
/// One storage database's part of the search index (table <c>media_index</c>, migration 004): written by the grains
/// after their state, read by the frontends' search (<see cref="Sharding.ShardedIndex"/> routes and merges). An upsert
/// only replaces an older version, so a late or repeated write can never overwrite a newer one. Every call goes through
/// the database's PostgreSQL pipeline.
/// </summary>
public sealed class MediaIndex(NpgsqlDataSource dataSource, ResiliencePipeline pipeline)
{
    private const string Columns =
        "media_id, version, status, processing, kind, content_type, size, file_name, title, description, tags, keywords, created_at, updated_at, owner";

    private readonly ResiliencePipeline _pipeline = pipeline;

    /// <summary>Writes an item's row unless the index already holds this version or a newer one. True when written.</summary>
    public Task<bool> UpsertAsync(string serviceId, IndexEntry entry, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand($"""
                INSERT INTO media_index (service_id, {Columns}, declared_length, indexed_at)
                VALUES (@service, @id, @version, @status, @processing, @kind, @type, @size, @file, @title, @description, @tags, @keywords, @created, @updated, @owner, @declared, now())
                ON CONFLICT (service_id, media_id) DO UPDATE SET
                    version = EXCLUDED.version, status = EXCLUDED.status, processing = EXCLUDED.processing, kind = EXCLUDED.kind,
                    content_type = EXCLUDED.content_type, size = EXCLUDED.size, file_name = EXCLUDED.file_name, title = EXCLUDED.title,
                    description = EXCLUDED.description, tags = EXCLUDED.tags, keywords = EXCLUDED.keywords,
                    created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, owner = EXCLUDED.owner,
                    declared_length = EXCLUDED.declared_length, indexed_at = now()
                WHERE media_index.version < EXCLUDED.version
                """);
            var p = command.Parameters;
            p.AddWithValue("service", serviceId);
            p.AddWithValue("id", entry.MediaId);
            p.AddWithValue("version", entry.Version);
            p.AddWithValue("status", entry.Status);
            p.AddWithValue("processing", (object?)entry.Processing ?? DBNull.Value);
            p.AddWithValue("kind", (object?)entry.Kind ?? DBNull.Value);
            p.AddWithValue("type", entry.ContentType);
            p.AddWithValue("size", entry.Size);
            p.AddWithValue("file", (object?)entry.FileName ?? DBNull.Value);
            p.AddWithValue("title", (object?)entry.Title ?? DBNull.Value);
            p.AddWithValue("description", (object?)entry.Description ?? DBNull.Value);
            p.Add(new NpgsqlParameter("tags", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = entry.Tags.ToArray() });
            p.Add(new NpgsqlParameter("keywords", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = entry.Keywords.ToArray() });
            p.AddWithValue("created", entry.CreatedAt.UtcDateTime);
            p.AddWithValue("updated", entry.UpdatedAt.UtcDateTime);
            p.AddWithValue("owner", entry.Owner);
            p.AddWithValue("declared", (object?)entry.DeclaredLength ?? DBNull.Value);
            return await command.ExecuteNonQueryAsync(ct) == 1;
        }, cancellationToken);

    /// <summary>Removes an item's row.</summary>
    public Task<bool> DeleteAsync(string serviceId, long mediaId, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand("DELETE FROM media_index WHERE service_id = @service AND media_id = @id");
            command.Parameters.AddWithValue("service", serviceId);
            command.Parameters.AddWithValue("id", mediaId);
            return await command.ExecuteNonQueryAsync(ct) == 1;
        }, cancellationToken);

    /// <summary>An owner's usage, summed over the index (as current as the index: writes in flight are not in it).</summary>
    /// <param name="serviceId">The service.</param>
    /// <param name="owner">The owner.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <param name="except">An item left out (one whose current size the caller knows better than the index).</param>
    /// <param name="shards">The logical shards to count (the ones the map places here); null for all.</param>
    public Task<OwnerUsage> UsageAsync(string serviceId, string owner, CancellationToken cancellationToken, long? except = null, IReadOnlyList<int>? shards = null) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand($"""
                SELECT coalesce(sum(CASE WHEN status IN ('stored', 'completing') THEN size
                                         WHEN status = 'receiving' THEN greatest(size, coalesce(declared_length, 0))
                                         ELSE 0 END), 0)::bigint,
                       count(*) FILTER (WHERE status = 'receiving')::int
                FROM media_index WHERE service_id = @service AND owner = @owner AND media_id <> @except{(shards is null ? "" : " AND " + ShardFilter)}
                """);
            if (shards is not null)
            {
                command.Parameters.Add(new NpgsqlParameter("shards", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = shards.ToArray() });
            }

            command.Parameters.AddWithValue("service", serviceId);
            command.Parameters.AddWithValue("owner", owner);
            command.Parameters.AddWithValue("except", except ?? 0L);
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            return new OwnerUsage(reader.GetInt64(0), reader.GetInt32(1));
        }, cancellationToken);

    /// <summary>The first <c>Limit + 1</c> rows after the query's cursor that match every filter, in the query's order
    /// (<see cref="Sharding.SearchMerge"/> pages them).</summary>
    /// <param name="serviceId">The service.</param>
    /// <param name="query">The search.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <param name="shards">The logical shards to read (the ones the map places here); null for all.</param>
    public Task<IReadOnlyList<SearchRow>> SearchAsync(string serviceId, SearchQuery query, CancellationToken cancellationToken, IReadOnlyList<int>? shards = null) =>
        RunAsync<IReadOnlyList<SearchRow>>(async ct =>
        {
            await using var command = BuildSearch(serviceId, query, shards);
            var rows = new List<SearchRow>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add(new SearchRow(Read(reader), reader.GetFloat(15)));
            }

            return rows;
        }, cancellationToken);

    // A database holds the rows of the shards the map places on it, and for a while the leftovers of a shard moved away:
    // those are read from their new database only.
    private static readonly string ShardFilter = $"{Sharding.ShardSql.ShardOf("media_id")} = ANY (@shards)";

    /// <summary>The search's SQL (for EXPLAIN in the benchmark) with its parameters bound.</summary>
    public NpgsqlCommand BuildSearch(string serviceId, SearchQuery query, IReadOnlyList<int>? shards = null)
    {
        var command = dataSource.CreateCommand();
        var p = command.Parameters;
        var where = new List<string> { "service_id = @service", "owner = @owner" };
        p.AddWithValue("service", serviceId);
        p.AddWithValue("owner", query.Owner);
        if (shards is not null)
        {
            where.Add(ShardFilter);
            p.Add(new NpgsqlParameter("shards", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = shards.ToArray() });
        }

        var rank = "0::real";
        if (!string.IsNullOrWhiteSpace(query.Text))
        {
            where.Add("document @@ websearch_to_tsquery('english', @text)");
            rank = "ts_rank(document, websearch_to_tsquery('english', @text))";
            p.AddWithValue("text", query.Text);
        }

        if (query.Tags.Count > 0)
        {
            where.Add("tags @> @tags");
            p.Add(new NpgsqlParameter("tags", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = query.Tags.ToArray() });
        }

        if (query.Kind is { } kind)
        {
            where.Add("kind = @kind");
            p.AddWithValue("kind", kind);
        }

        if (query.Status is { } status)
        {
            where.Add("(status = @status OR processing = @status)");
            p.AddWithValue("status", status);
        }

        if (query.CreatedAfter is { } after)
        {
            where.Add("created_at > @createdAfter");
            p.AddWithValue("createdAfter", after.UtcDateTime);
        }

        if (query.CreatedBefore is { } before)
        {
            where.Add("created_at < @createdBefore");
            p.AddWithValue("createdBefore", before.UtcDateTime);
        }

        string order;
        if (query.Sort == SearchSort.Relevance && !string.IsNullOrWhiteSpace(query.Text))
        {
            order = $"{rank} DESC, media_id DESC";
            if (query.After is { } cursor)
            {
                where.Add($"({rank} < @rank OR ({rank} = @rank AND media_id < @cursorId))");
                p.AddWithValue("rank", cursor.Rank);
                p.AddWithValue("cursorId", cursor.MediaId);
            }
        }
        else
        {
            order = "created_at DESC, media_id DESC";
            if (query.After is { } cursor)
            {
                where.Add("(created_at, media_id) < (@cursorAt, @cursorId)");
                p.AddWithValue("cursorAt", new DateTime(cursor.CreatedAtTicks, DateTimeKind.Utc));
                p.AddWithValue("cursorId", cursor.MediaId);
            }
        }

        p.AddWithValue("limit", query.Limit + 1);
        command.CommandText = $"SELECT {Columns}, {rank} AS rank FROM media_index WHERE {string.Join(" AND ", where)} ORDER BY {order} LIMIT @limit";
        return command;
    }

    private static IndexEntry Read(NpgsqlDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetInt64(1),
        reader.GetString(2),
        reader.IsDBNull(3) ? null : reader.GetString(3),
        reader.IsDBNull(4) ? null : reader.GetString(4),
        reader.GetString(5),
        reader.GetInt64(6),
        reader.IsDBNull(7) ? null : reader.GetString(7),
        reader.IsDBNull(8) ? null : reader.GetString(8),
        reader.IsDBNull(9) ? null : reader.GetString(9),
        reader.GetFieldValue<string[]>(10),
        reader.GetFieldValue<string[]>(11),
        new DateTimeOffset(reader.GetDateTime(12), TimeSpan.Zero),
        new DateTimeOffset(reader.GetDateTime(13), TimeSpan.Zero),
        reader.GetString(14));

    // Every index call is idempotent: the upsert is conditional on the version, the rest read or delete.
    private Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        _pipeline.RunAsync(idempotent: true, call, cancellationToken);
}
