using MediaService.DataPlane;
using MediaService.DataPlane.Sharding;

namespace MediaService.UnitTests;

/// <summary>The merge of several databases' answers is the one sorted list, page after page: rows spread at random over
/// k databases, each answering its first Limit + 1 after the cursor as the SQL does, paged through with any limit,
/// give every row once, in order (both sorts, ties of time or rank, empty databases).</summary>
public sealed class SearchMergeTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(SearchSort.Created, 1, 7, 0)]
    [InlineData(SearchSort.Created, 2, 7, 1)]
    [InlineData(SearchSort.Created, 3, 1, 2)]
    [InlineData(SearchSort.Created, 5, 20, 3)]
    [InlineData(SearchSort.Relevance, 2, 7, 4)]
    [InlineData(SearchSort.Relevance, 3, 3, 5)]
    [InlineData(SearchSort.Relevance, 4, 50, 6)]
    public void PagingThroughTheMergeGivesTheOneSortedListExactly(SearchSort sort, int databases, int limit, int seed)
    {
        for (var round = 0; round < 50; round++)
        {
            var random = new Random(seed * 1000 + round);
            var count = random.Next(0, 120);
            // Few distinct times and ranks: many ties, broken by the id as in the SQL.
            var rows = Enumerable.Range(0, count).Select(_ => new SearchRow(Entry(random.NextInt64(1, 1L << 53), Start.AddSeconds(random.Next(10))),
                random.Next(4) / 4f)).DistinctBy(r => r.Entry.MediaId).ToList();
            var byDatabase = rows.GroupBy(_ => random.Next(databases)).ToDictionary(g => g.Key, g => g.ToList());
            var query = new SearchQuery([], sort == SearchSort.Relevance ? "words" : null, null, null, null, null, sort, limit, null);
            // The SQL's order, written out: created_at DESC or rank DESC, then media_id DESC.
            var expected = (sort == SearchSort.Relevance
                    ? rows.OrderByDescending(r => r.Rank).ThenByDescending(r => r.Entry.MediaId)
                    : rows.OrderByDescending(r => r.Entry.CreatedAt).ThenByDescending(r => r.Entry.MediaId))
                .Select(r => r.Entry.MediaId).ToList();

            var seen = new List<long>();
            for (var pages = 0; pages <= count + 1; pages++)
            {
                var answers = Enumerable.Range(0, databases).Select(d => Answer(byDatabase.GetValueOrDefault(d) ?? [], query)).ToList();
                var page = SearchMerge.Merge(query, answers, partial: false);
                Assert.True(page.Items.Count <= limit);
                seen.AddRange(page.Items.Select(i => i.MediaId));
                if (page.Next is null)
                {
                    break;
                }

                query = query with { After = page.Next };
            }

            Assert.Equal(expected, seen);
        }
    }

    [Fact]
    public void APartialAnswerSaysSo()
    {
        var query = new SearchQuery([], null, null, null, null, null, SearchSort.Created, 10, null);
        Assert.True(SearchMerge.Merge(query, [[]], partial: true).Partial);
        Assert.False(SearchMerge.Merge(query, [[]], partial: false).Partial);
    }

    // What one database answers: its rows after the cursor in the query's order, at most Limit + 1 (the SQL of MediaIndex).
    private static IReadOnlyList<SearchRow> Answer(List<SearchRow> rows, SearchQuery query)
    {
        var byRelevance = SearchMerge.ByRelevance(query);
        return [.. rows
            .Where(r => query.After is not { } c || (byRelevance
                ? r.Rank < c.Rank || (r.Rank == c.Rank && r.Entry.MediaId < c.MediaId)
                : r.Entry.CreatedAt.UtcTicks < c.CreatedAtTicks || (r.Entry.CreatedAt.UtcTicks == c.CreatedAtTicks && r.Entry.MediaId < c.MediaId)))
            .Order(Comparer<SearchRow>.Create((a, b) => SearchMerge.Compare(a, b, byRelevance)))
            .Take(query.Limit + 1)];
    }

    private static IndexEntry Entry(long id, DateTimeOffset created) =>
        new(id, 1, "stored", null, null, "application/octet-stream", 1, null, null, null, [], [], created, created);
}
