using System.Collections.Concurrent;
using MediaService.ApiFrontend.Access;
using MediaService.DataPlane;
using MediaService.DataPlane.Sharding;
using MediaService.DataPlane.Webhooks;
using MediaService.Grains.Interfaces;
using MediaService.Grains.Processing;

namespace MediaService.InProcessTests.Fakes;

/// <summary>The search index as the grain writes it and quotas read it: rows by item (a write older than the row held
/// is not applied, as in PostgreSQL), and each owner's usage as the test sets it (nothing used by default).</summary>
public sealed class RecordingIndex : IIndexWriter, IOwnerUsage
{
    private readonly ConcurrentDictionary<long, IndexEntry> _rows = new();
    private readonly ConcurrentDictionary<string, OwnerUsage> _usage = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<long> _deleted = new();

    /// <summary>The row of an item, or null.</summary>
    public IndexEntry? Row(long mediaId) => _rows.GetValueOrDefault(mediaId);

    /// <summary>True when the grain removed the item's row.</summary>
    public bool WasDeleted(long mediaId) => _deleted.Contains(mediaId);

    /// <summary>Sets what the owner is said to use.</summary>
    public void SetUsage(string owner, OwnerUsage usage) => _usage[owner] = usage;

    /// <inheritdoc />
    public Task<bool> UpsertAsync(string serviceId, IndexEntry entry, CancellationToken cancellationToken)
    {
        var written = false;
        _rows.AddOrUpdate(entry.MediaId, _ => { written = true; return entry; }, (_, held) =>
        {
            written = entry.Version > held.Version;
            return written ? entry : held;
        });
        return Task.FromResult(written);
    }

    /// <inheritdoc />
    public Task<bool> DeleteAsync(string serviceId, long mediaId, CancellationToken cancellationToken)
    {
        _deleted.Enqueue(mediaId);
        return Task.FromResult(_rows.TryRemove(mediaId, out _));
    }

    /// <inheritdoc />
    public Task<OwnerUsage> UsageAsync(string serviceId, string owner, CancellationToken cancellationToken, long? except = null) =>
        Task.FromResult(_usage.GetValueOrDefault(owner) ?? new OwnerUsage(0, 0));
}

/// <summary>The webhook hand-off: records every event it is given, and has no subscriptions to wake.</summary>
public sealed class RecordingEventHandOff : IEventHandOff
{
    private readonly ConcurrentQueue<(long MediaId, string Owner, OutboxEvent Event)> _events = new();

    /// <summary>The types of the events handed off for an item, in order.</summary>
    public IReadOnlyList<string> TypesOf(long mediaId) => [.. _events.Where(e => e.MediaId == mediaId).Select(e => e.Event.Type)];

    /// <inheritdoc />
    public Task<IReadOnlyList<long>> HandOffAsync(string serviceId, string owner, long mediaId, IReadOnlyList<OutboxEvent> events, CancellationToken cancellationToken)
    {
        foreach (var e in events)
        {
            _events.Enqueue((mediaId, owner, e));
        }

        return Task.FromResult<IReadOnlyList<long>>([]);
    }
}

/// <summary>The silo's processing slots, recording the attempts they are given and running none.</summary>
public sealed class RecordingProcessingQueue : IProcessingQueue
{
    private readonly ConcurrentQueue<ProcessingJob> _jobs = new();

    /// <summary>The attempts queued for an item.</summary>
    public IReadOnlyList<ProcessingJob> JobsOf(long mediaId) => [.. _jobs.Where(j => j.MediaId == mediaId)];

    /// <inheritdoc />
    public void Enqueue(ProcessingJob job) => _jobs.Enqueue(job);
}

/// <summary>One storage database holding every logical shard, always healthy, and fixed service secrets.</summary>
public sealed class FixedPlacement : ISecretSource, IShardMapSource, IDatabaseHealth
{
    /// <summary>The database's name.</summary>
    public const string Database = "main";

    private readonly ConcurrentDictionary<string, byte[]> _secrets = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public ShardMap? Current { get; private set; } = ShardMap.Seed([Database]);

    /// <summary>Puts one logical shard in another state (a move drains it).</summary>
    public void SetState(int shard, ShardState state) => Current = Current!.With(shard, Database, state);

    /// <inheritdoc />
    public ValueTask<ShardMap> MapAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(Current!);

    /// <inheritdoc />
    public bool IsHealthy(string name) => name == Database;

    /// <inheritdoc />
    public Task<byte[]> GetAsync(string name) => Task.FromResult(Secret(name));

    /// <inheritdoc />
    public byte[]? Peek(string name) => Secret(name);

    private byte[] Secret(string name) => _secrets.GetOrAdd(name, _ => System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
}
