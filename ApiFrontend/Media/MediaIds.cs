using System.Buffers.Binary;
using System.Security.Cryptography;
using MediaService.ApiFrontend.Access;
using MediaService.ApiFrontend.Limits;
using MediaService.ApiFrontend.Admin;

namespace MediaService.ApiFrontend.Media;

/// <summary>
/// Public media ids: positive integers below 2^53, so JavaScript reads them exactly. The high 37 bits are random (no
/// id reveals another, and nothing about creation order leaks) and the low 16 bits are a keyed check of them, so that
/// a frontend tells an id it issued from a made-up one without asking the cluster: a made-up id is refused before any
/// grain is activated or any state read, and only one guess in 65,536 gets that far. Uniqueness is the grain's to
/// decide.
/// </summary>
public static class MediaIds
{
    /// <summary>The largest id (2^53 - 1, JavaScript's largest exact integer).</summary>
    public const long MaxId = (1L << 53) - 1;

    /// <summary>The low bits that check the rest.</summary>
    public const int CheckBits = DataPlane.Sharding.ShardKey.CheckBits;

    /// <summary>A fresh id from a cryptographic generator, checked under <paramref name="key"/>; with
    /// <paramref name="shard"/>, one that lives on that logical shard (its low six random bits say so: the other 31 stay
    /// random).</summary>
    public static long NewId(ReadOnlySpan<byte> key, int? shard = null)
    {
        Span<byte> bytes = stackalloc byte[8];
        while (true)
        {
            RandomNumberGenerator.Fill(bytes);
            var random = (long)(BinaryPrimitives.ReadUInt64LittleEndian(bytes) & (ulong)(MaxId >> CheckBits));
            if (shard is { } s)
            {
                random = DataPlane.Sharding.ShardKey.Place(random, s);
            }

            if (random != 0)
            {
                return (random << CheckBits) | Check(key, random);
            }
        }
    }

    /// <summary>True when <paramref name="id"/> is in the range of ids.</summary>
    public static bool IsValid(long id) => id is > 0 and <= MaxId;

    /// <summary>True when <paramref name="id"/> is in range and its check bits match under <paramref name="key"/>.</summary>
    public static bool IsIssued(long id, ReadOnlySpan<byte> key) =>
        IsValid(id) && (id >> CheckBits) != 0 && (id & ((1L << CheckBits) - 1)) == Check(key, id >> CheckBits);

    private static long Check(ReadOnlySpan<byte> key, long random)
    {
        Span<byte> message = stackalloc byte[16];
        "media-id"u8.CopyTo(message);
        BinaryPrimitives.WriteInt64LittleEndian(message[8..], random);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(key, message, mac);
        return BinaryPrimitives.ReadUInt16LittleEndian(mac);
    }
}

/// <summary>Issues and checks media ids under the service's <c>media-ids</c> secret (<see cref="ServiceSecrets"/>).</summary>
public sealed class MediaIdIssuer(ISecretSource secrets, DataPlane.Sharding.IShardMapSource directory, DataPlane.Sharding.IDatabaseHealth databases,
    DataPlane.Telemetry.MediaMetrics metrics)
{
    /// <summary>The secret's name.</summary>
    public const string SecretName = "media-ids";

    /// <summary>A fresh id, placed on an open logical shard whose database answers (uniform over those: databases take
    /// new items in proportion to the shards they hold). When every shard is being moved, 503.</summary>
    public async Task<long> NewIdAsync(IReadOnlySet<string>? avoid = null)
    {
        var key = await secrets.GetAsync(SecretName);
        var map = await directory.MapAsync();
        var shard = map.Choose(d => databases.IsHealthy(d) && avoid?.Contains(d) != true, Random.Shared)
            ?? throw Grains.Interfaces.MediaException.Unavailable("Every storage shard is being moved; nothing was created. Retry later.", TimeSpan.FromSeconds(5));
        metrics.ItemPlaced(map.Placements[shard].Database);
        return MediaIds.NewId(key, shard);
    }

    /// <summary>The database the shard map places an item on (null before the map was read).</summary>
    public string? DatabaseOf(long id) => directory.Current?.Route(id).Database;

    /// <summary>True when this service issued an id of this form (it may still name nothing: deleted, or never used).</summary>
    public ValueTask<bool> IsIssuedAsync(long id)
    {
        if (!MediaIds.IsValid(id))
        {
            return ValueTask.FromResult(false);
        }

        return secrets.Peek(SecretName) is { } key ? ValueTask.FromResult(MediaIds.IsIssued(id, key)) : CheckAsync(id);
    }

    private async ValueTask<bool> CheckAsync(long id) => MediaIds.IsIssued(id, await secrets.GetAsync(SecretName));
}
