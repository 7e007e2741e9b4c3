using System.Collections.Concurrent;
using System.Diagnostics;
using MediaService.DataPlane.Telemetry;
using Microsoft.Extensions.Options;

namespace MediaService.DataPlane.Sharding;

/// <summary>
/// Merges the answers of several databases to one search into one page. Each database answers the first
/// <c>Limit + 1</c> rows after the cursor in the query's order; the order is total (the id breaks ties, and ids are
/// unique across databases), so every row of the global first <c>Limit + 1</c> is among its own database's, and the
/// merge of those lists starts with exactly the global ones: pages neither skip nor repeat. Pure, for unit tests.
/// </summary>
public static class SearchMerge
{
    /// <summary>True when the query is ordered by relevance (it needs a text to rank by), as the SQL orders it.</summary>
    public static bool ByRelevance(SearchQuery query) => query.Sort == SearchSort.Relevance && !string.IsNullOrWhiteSpace(query.Text);

    /// <summary>The order of the SQL: newest first (<c>created_at DESC, media_id DESC</c>) or best match first
    /// (<c>rank DESC, media_id DESC</c>).</summary>
    public static int Compare(SearchRow a, SearchRow b, bool byRelevance)
    {
        var first = byRelevance ? b.Rank.CompareTo(a.Rank) : b.Entry.CreatedAt.UtcTicks.CompareTo(a.Entry.CreatedAt.UtcTicks);
        return first != 0 ? first : b.Entry.MediaId.CompareTo(a.Entry.MediaId);
    }

    /// <summary>One page of at most <c>query.Limit</c> rows from the databases' answers, and the cursor after it (null
    /// when nothing follows in any answer).</summary>
    public static SearchPage Merge(SearchQuery query, IEnumerable<IReadOnlyList<SearchRow>> answers, bool partial)
    {
        var byRelevance = ByRelevance(query);
        var rows = answers.SelectMany(a => a).ToList();
        rows.Sort((a, b) => Compare(a, b, byRelevance));
        SearchCursor? next = null;
        if (rows.Count > query.Limit)
        {
            var last = rows[query.Limit - 1];
            next = new SearchCursor(query.Sort, last.Entry.CreatedAt.UtcTicks, last.Rank, last.Entry.MediaId);
        }

        return new SearchPage([.. rows.Take(query.Limit).Select(r => r.Entry)], next, partial);
    }
}

/// <summary>
/// The search index over every storage database: an item's row lives in its shard's database (upserts and deletes go
/// there), and a search or an owner's usage asks every database that holds open shards, in parallel, for its shards
/// only. A database that fails or takes longer than <see cref="StorageOptions.SearchTimeout"/> is left out and the page
/// says <c>partial</c>; when every database fails, the failure is the answer (503 at the edge).
/// </summary>
public sealed class ShardedIndex(ShardDatabases databases, ShardDirectory directory, IOptions<StorageOptions> options, MediaMetrics metrics) : IIndexWriter, IOwnerUsage
{
    private readonly ConcurrentDictionary<(string Owner, string Database), (OwnerUsage Usage, long At)> _usage = new();

    /// <summary>Writes an item's row in its shard's database unless that holds this version or a newer one.</summary>
    public async Task<bool> UpsertAsync(string serviceId, IndexEntry entry, CancellationToken cancellationToken) =>
        await (await For(entry.MediaId, cancellationToken)).UpsertAsync(serviceId, entry, cancellationToken);

    /// <summary>Removes an item's row from its shard's database.</summary>
    public async Task<bool> DeleteAsync(string serviceId, long mediaId, CancellationToken cancellationToken) =>
        await (await For(mediaId, cancellationToken)).DeleteAsync(serviceId, mediaId, cancellationToken);

    /// <summary>One page of the owner's items over every database, merged in the query's order.</summary>
    public async Task<SearchPage> SearchAsync(string serviceId, SearchQuery query, CancellationToken cancellationToken)
    {
        var map = await directory.MapAsync(cancellationToken);
        var started = Stopwatch.GetTimestamp();
        var plan = Plan(map);
        var answers = await Task.WhenAll(plan.Select(p => AskAsync(p.Database,
            ct => p.Database.Index.SearchAsync(serviceId, query, ct, p.Shards), cancellationToken)));
        var failed = answers.Where(a => a.Error is not null).ToList();
        if (failed.Count == answers.Length && failed.Count > 0)
        {
            throw failed[0].Error!;
        }

        var partial = failed.Count > 0 || map.Placements.Any(p => p.State == ShardState.Draining);
        metrics.SearchAnswered(plan.Count, partial, Stopwatch.GetElapsedTime(started));
        return SearchMerge.Merge(query, answers.Where(a => a.Error is null).Select(a => a.Value!), partial);
    }

    /// <summary>An owner's usage summed over every database. A database that does not answer counts with the last usage
    /// this process read there (while it is down its items cannot change), if younger than
    /// <see cref="StorageOptions.UsageStaleAfter"/>, else as nothing.</summary>
    public async Task<OwnerUsage> UsageAsync(string serviceId, string owner, CancellationToken cancellationToken, long? except = null)
    {
        var map = await directory.MapAsync(cancellationToken);
        // A shard being moved counts where it is until the switch: its items cannot change meanwhile, but they still
        // use what they use.
        var plan = Plan(map, draining: true);
        var answers = await Task.WhenAll(plan.Select(p => AskAsync(p.Database,
            ct => p.Database.Index.UsageAsync(serviceId, owner, ct, except, p.Shards), cancellationToken)));
        if (answers.All(a => a.Error is not null) && answers.Length > 0)
        {
            throw answers[0].Error!;
        }

        long bytes = 0;
        var unfinished = 0;
        for (var i = 0; i < answers.Length; i++)
        {
            var key = (owner, plan[i].Database.Name);
            if (answers[i].Value is { } usage)
            {
                if (_usage.Count < 10_000 || _usage.ContainsKey(key))
                {
                    _usage[key] = (usage, Stopwatch.GetTimestamp());
                }
            }
            else if (_usage.TryGetValue(key, out var last) && Stopwatch.GetElapsedTime(last.At) < options.Value.UsageStaleAfter)
            {
                usage = last.Usage;
            }
            else
            {
                metrics.QuotaPartial();
                continue;
            }

            bytes += usage.Bytes;
            unfinished += usage.UnfinishedUploads;
        }

        return new OwnerUsage(bytes, unfinished);
    }

    // The databases holding open shards (with draining: every shard), each with its shards (null when it holds all of
    // them: no filter needed).
    private List<(ShardDatabase Database, IReadOnlyList<int>? Shards)> Plan(ShardMap map, bool draining = false) =>
        [.. map.Databases.Select(name => (Database: databases[name], Shards: draining
                ? (IReadOnlyList<int>)[.. map.Placements.Where(p => p.Database == name).Select(p => p.Shard)]
                : map.ShardsOn(name)))
            .Where(p => p.Shards.Count > 0)
            .Select(p => (p.Database, p.Shards.Count == ShardKey.LogicalShards ? null : p.Shards))];

    private async Task<(T? Value, Exception? Error)> AskAsync<T>(ShardDatabase database, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
        where T : class
    {
        var started = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.SearchTimeout);
        try
        {
            var value = await call(timeout.Token);
            metrics.SearchDatabaseAnswered(database.Name, "ok", Stopwatch.GetElapsedTime(started));
            return (value, null);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && (Resilience.IsPostgresUnavailable(ex) || ex is OperationCanceledException))
        {
            metrics.SearchDatabaseAnswered(database.Name, "failed", Stopwatch.GetElapsedTime(started));
            return (null, ex is OperationCanceledException ? new Polly.Timeout.TimeoutRejectedException($"The storage database '{database.Name}' did not answer in time.", ex) : ex);
        }
    }

    private async ValueTask<MediaIndex> For(long mediaId, CancellationToken cancellationToken) =>
        databases[(await directory.MapAsync(cancellationToken)).Route(mediaId).Database].Index;
}
