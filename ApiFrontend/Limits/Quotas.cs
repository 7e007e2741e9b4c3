using MediaService.ApiFrontend.Access;
using MediaService.ApiFrontend.Admin;
using System.ComponentModel.DataAnnotations;
using MediaService.ApiFrontend.Http;
using MediaService.DataPlane;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace MediaService.ApiFrontend.Limits;

/// <summary>
/// Checks an owner's quotas against their usage in the search index: at creation (the number of unfinished uploads,
/// and the bytes when the length is known), when a deferred length is declared, for a concatenation's summed length,
/// and while bytes of an upload without a length are written (<see cref="RoomAsync"/> caps the body, and
/// <see cref="QuotaCappedBody"/> stops it at the cap). The index is written before a creation is answered, so only
/// requests of one owner racing each other can pass together.
/// </summary>
public sealed class Quotas(DataPlane.Sharding.IOwnerUsage index, IOptions<QuotaOptions> options, IOptions<ClusterOptions> cluster)
{
    /// <summary>Null when <paramref name="owner"/> may start an upload of <paramref name="length"/> bytes (unknown: null).</summary>
    public async Task<ProblemHttpResult?> CheckNewUploadAsync(string owner, long? length, CancellationToken cancellationToken)
    {
        var limits = options.Value;
        var usage = await index.UsageAsync(cluster.Value.ServiceId, owner, cancellationToken);
        if (usage.UnfinishedUploads >= limits.MaxUnfinishedUploads)
        {
            return ApiErrors.TooManyUnfinishedUploads.Problem($"You have {usage.UnfinishedUploads} unfinished uploads; at most {limits.MaxUnfinishedUploads} may be open. Finish or terminate one first.",
                new Dictionary<string, object?> { ["unfinishedUploads"] = usage.UnfinishedUploads, ["maxUnfinishedUploads"] = limits.MaxUnfinishedUploads });
        }

        return length is { } bytes ? Bytes(usage, bytes) : null;
    }

    /// <summary>Null when <paramref name="owner"/> may declare <paramref name="length"/> bytes for a deferred upload.</summary>
    public async Task<ProblemHttpResult?> CheckDeclaredLengthAsync(string owner, long length, CancellationToken cancellationToken) =>
        Bytes(await index.UsageAsync(cluster.Value.ServiceId, owner, cancellationToken), length);

    /// <summary>The bytes <paramref name="owner"/> may still add (stored and announced bytes count as used). For an
    /// append to item <paramref name="item"/>, its bytes are counted as the grain says (<paramref name="itemBytes"/>):
    /// the index may not have caught up with its last appends.</summary>
    public async Task<long> RoomAsync(string owner, CancellationToken cancellationToken, long? item = null, long itemBytes = 0)
    {
        var usage = await index.UsageAsync(cluster.Value.ServiceId, owner, cancellationToken, item);
        return Math.Max(0, options.Value.MaxStoredBytes - usage.Bytes - itemBytes);
    }

    /// <summary>The answer to a body that went past the owner's room: for a resumable upload, what it had stored stays
    /// (HEAD reports the offset); a one-shot upload stores nothing.</summary>
    public ProblemHttpResult Exceeded(long room, bool oneShot = false)
    {
        var max = options.Value.MaxStoredBytes;
        return ApiErrors.QuotaExceeded.Problem($"The body goes past your storage quota of {max} bytes ({room} more would have fitted). "
            + (oneShot ? "Nothing was stored." : "The upload keeps the offset a HEAD reports."),
            new Dictionary<string, object?> { ["roomBytes"] = room, ["maxStoredBytes"] = max });
    }

    private ProblemHttpResult? Bytes(OwnerUsage usage, long length)
    {
        var max = options.Value.MaxStoredBytes;
        return usage.Bytes + length <= max
            ? null
            : ApiErrors.QuotaExceeded.Problem($"You use {usage.Bytes} bytes of your {max}; {length} more do not fit.",
                new Dictionary<string, object?> { ["usedBytes"] = usage.Bytes, ["maxStoredBytes"] = max });
    }
}

/// <summary>Thrown when a body goes past the owner's storage room.</summary>
public sealed class QuotaExceededException(long room) : Exception($"The body goes past the owner's storage room of {room} bytes.")
{
    /// <summary>The bytes that fitted.</summary>
    public long Room { get; } = room;
}

/// <summary>A request body that may carry at most <paramref name="room"/> bytes: the read that would pass it throws
/// <see cref="QuotaExceededException"/> (the bytes before it are the writer's to keep).</summary>
public sealed class QuotaCappedBody(Stream inner, long room) : MediaService.DataPlane.ForwardReadStream
{
    private long _read;

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0)
        {
            return 0;
        }

        if (_read < room)
        {
            // Up to the room: every byte before it reaches the writer.
            var read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, room - _read)], cancellationToken);
            _read += read;
            return read;
        }

        // At the room: one byte more tells a body that ends here from one that goes on.
        var probe = new byte[1];
        return await inner.ReadAsync(probe, cancellationToken) > 0 ? throw new QuotaExceededException(room) : 0;
    }
}
