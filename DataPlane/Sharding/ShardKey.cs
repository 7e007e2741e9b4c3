namespace MediaService.DataPlane.Sharding;

/// <summary>
/// Which logical shard a media item lives on: one of <see cref="LogicalShards"/>, fixed forever, given by the low six
/// random bits of its id (above the check bits). Ids are random by construction, so items spread evenly without a
/// hash, and the same expression, <c>((media_id &gt;&gt; 16) &amp; 63)</c>, is one a database can compute itself.
/// Changing the count or the rule would re-home every stored row: unit tests pin it.
/// </summary>
public static class ShardKey
{
    /// <summary>The number of logical shards.</summary>
    public const int LogicalShards = 64;

    /// <summary>The low bits of an id that check the rest (see the frontend's <c>MediaIds</c>).</summary>
    public const int CheckBits = 16;

    /// <summary>The mask of the shard in the random part of an id.</summary>
    public const long ShardMask = LogicalShards - 1;

    /// <summary>The logical shard of an item.</summary>
    public static int Of(long mediaId) => (int)((mediaId >> CheckBits) & ShardMask);

    /// <summary>The random part of an id with its shard bits set to <paramref name="shard"/>.</summary>
    public static long Place(long random, int shard)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(shard);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(shard, LogicalShards);
        return (random & ~ShardMask) | (long)shard;
    }
}
