using System.Collections.Immutable;

namespace MediaService.DataPlane.Sharding;

/// <summary>Whether a logical shard takes calls.</summary>
public enum ShardState
{
    /// <summary>Its items are read and written, and new items may be placed on it.</summary>
    Open,

    /// <summary>It is being moved: its items answer 503 and no new item is placed on it.</summary>
    Draining,
}

/// <summary>Where one logical shard lives.</summary>
/// <param name="Shard">The logical shard, 0 to 63.</param>
/// <param name="Database">The configured database (a name of <c>Storage:Shards</c>) that holds it.</param>
/// <param name="State">Whether it takes calls.</param>
public sealed record ShardPlacement(int Shard, string Database, ShardState State);

/// <summary>
/// Which database holds each logical shard: pure and immutable, so every process routes by one value at a time and
/// unit tests drive it. A new map (a moved shard) has a higher <see cref="Epoch"/>.
/// </summary>
public sealed class ShardMap
{
    private ShardMap(long epoch, ImmutableArray<ShardPlacement> placements)
    {
        Epoch = epoch;
        Placements = placements;
    }

    /// <summary>Counts the map's changes.</summary>
    public long Epoch { get; }

    /// <summary>Every logical shard, in order.</summary>
    public ImmutableArray<ShardPlacement> Placements { get; }

    /// <summary>The databases the map names, in ordinal order.</summary>
    public IReadOnlyList<string> Databases => [.. Placements.Select(p => p.Database).Distinct().Order(StringComparer.Ordinal)];

    /// <summary>The first map of a service: logical shard <c>s</c> on database <c>s mod N</c>, the databases in ordinal
    /// order of their names, all open.</summary>
    public static ShardMap Seed(IEnumerable<string> databases)
    {
        var names = databases.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (names.Length == 0)
        {
            throw new ArgumentException("A shard map needs at least one database.", nameof(databases));
        }

        return new ShardMap(1, [.. Enumerable.Range(0, ShardKey.LogicalShards).Select(s => new ShardPlacement(s, names[s % names.Length], ShardState.Open))]);
    }

    /// <summary>A map of the given placements (one per logical shard, as stored).</summary>
    public static ShardMap Of(long epoch, IEnumerable<ShardPlacement> placements)
    {
        var ordered = placements.OrderBy(p => p.Shard).ToImmutableArray();
        if (ordered.Length != ShardKey.LogicalShards || ordered.Select((p, i) => p.Shard == i).Any(ok => !ok))
        {
            throw new ArgumentException($"A shard map places each of the {ShardKey.LogicalShards} logical shards exactly once.", nameof(placements));
        }

        return new ShardMap(epoch, ordered);
    }

    /// <summary>Where an item lives.</summary>
    public ShardPlacement Route(long mediaId) => Placements[ShardKey.Of(mediaId)];

    /// <summary>The open logical shards a database holds.</summary>
    public IReadOnlyList<int> ShardsOn(string database) =>
        [.. Placements.Where(p => p.Database == database && p.State == ShardState.Open).Select(p => p.Shard)];

    /// <summary>The map with one shard moved to another database or put in another state; the epoch goes up.</summary>
    public ShardMap With(int shard, string database, ShardState state) =>
        new(Epoch + 1, Placements.SetItem(shard, new ShardPlacement(shard, database, state)));

    /// <summary>Why the map cannot be used with these configured databases (a database it names is not configured), or
    /// null when it can.</summary>
    public string? Check(IReadOnlySet<string> configured) =>
        Databases.Where(d => !configured.Contains(d)).ToList() is { Count: > 0 } missing
            ? $"The shard map places shards on {string.Join(", ", missing)}, which Storage:Shards does not configure."
            : null;

    /// <summary>A logical shard for a new item: uniform over the open shards whose database is healthy; when none is,
    /// over the open ones (the creation then meets the outage and answers 503); null when every shard is draining.</summary>
    public int? Choose(Func<string, bool> healthy, Random random)
    {
        var open = Placements.Where(p => p.State == ShardState.Open).ToList();
        var candidates = open.Where(p => healthy(p.Database)).ToList() is { Count: > 0 } good ? good : open;
        return candidates.Count == 0 ? null : candidates[random.Next(candidates.Count)].Shard;
    }
}
