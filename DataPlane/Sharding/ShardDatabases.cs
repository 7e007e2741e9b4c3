using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Polly;
using Polly.CircuitBreaker;
using Polly.Registry;

namespace MediaService.DataPlane.Sharding;

/// <summary>SQL facts shared by the shard code and the migrations (010_sharding.sql).</summary>
public static class ShardSql
{
    /// <summary>The SQLSTATE a fenced shard's write (or read) raises: its rows are elsewhere, or being moved.</summary>
    public const string Fenced = "55M01";

    /// <summary>The shard of an id column, as the databases compute it (the same as <see cref="ShardKey.Of"/>).</summary>
    public static string ShardOf(string column) => $"(({column} >> 16) & 63)";
}

/// <summary>The service's id in the cluster (Orleans' ServiceId): every stored row is scoped by it.</summary>
/// <param name="Value">The id.</param>
public sealed record MediaServiceId(string Value);

/// <summary>How one storage database is doing, as this process last saw it.</summary>
/// <param name="Up">True when its last probe answered.</param>
/// <param name="CheckedAt">When it was probed (null: not yet).</param>
/// <param name="LatencyMs">The probe's round trip.</param>
/// <param name="Error">Why the probe failed.</param>
public sealed record DatabaseHealth(bool Up, DateTimeOffset? CheckedAt, double? LatencyMs, string? Error);

/// <summary>One configured storage database: its connections (one pool per database per process), its PostgreSQL
/// pipeline with a breaker of its own, its part of the search index, and its health.</summary>
public sealed class ShardDatabase
{
    internal ShardDatabase(string name, string connectionString, NpgsqlDataSource dataSource, ResiliencePipeline pipeline, bool isControl)
    {
        Name = name;
        ConnectionString = connectionString;
        DataSource = dataSource;
        Pipeline = pipeline;
        IsControl = isControl;
        Index = new MediaIndex(dataSource, pipeline);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        Host = $"{builder.Host}:{builder.Port}";
        DatabaseName = builder.Database ?? string.Empty;
    }

    /// <summary>Its name in <c>Storage:Shards</c>.</summary>
    public string Name { get; }

    /// <summary>Its connection string.</summary>
    public string ConnectionString { get; }

    /// <summary>host:port.</summary>
    public string Host { get; }

    /// <summary>The database's name on its server.</summary>
    public string DatabaseName { get; }

    /// <summary>True when it is the control database too.</summary>
    public bool IsControl { get; }

    /// <summary>Its connections.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>Its pipeline (<see cref="Resilience.PostgresFor"/>).</summary>
    public ResiliencePipeline Pipeline { get; }

    /// <summary>Its part of the search index.</summary>
    public MediaIndex Index { get; }

    /// <summary>Its last probe.</summary>
    public DatabaseHealth Health { get; internal set; } = new(true, null, null, null);
}

/// <summary>
/// The configured storage databases (<see cref="StorageOptions.Databases"/>), for the silo and the frontend alike. A
/// database is healthy when its last probe answered and its breaker is closed; new items are placed on healthy ones.
/// </summary>
public sealed class ShardDatabases : IAsyncDisposable, IDatabaseHealth
{
    private readonly Dictionary<string, ShardDatabase> _databases = new(StringComparer.Ordinal);
    private readonly CircuitStates _circuits;
    private readonly List<NpgsqlDataSource> _owned = [];

    public ShardDatabases(IOptions<StorageOptions> options, NpgsqlDataSource control, ResiliencePipelineProvider<string> pipelines, CircuitStates circuits)
    {
        _circuits = circuits;
        var controlTarget = StorageOptions.Target(control.ConnectionString);
        foreach (var (name, connectionString) in options.Value.Databases(control.ConnectionString).OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            var isControl = StorageOptions.Target(connectionString) == controlTarget;
            NpgsqlDataSource source;
            if (connectionString == control.ConnectionString)
            {
                source = control;
            }
            else
            {
                source = NpgsqlDataSource.Create(connectionString);
                _owned.Add(source);
            }

            _databases[name] = new ShardDatabase(name, connectionString, source, pipelines.GetPipeline(Resilience.PostgresFor(name)), isControl);
        }
    }

    /// <summary>Every configured database, in ordinal order of names.</summary>
    public IReadOnlyCollection<ShardDatabase> All => _databases.Values;

    /// <summary>The names configured.</summary>
    public IReadOnlySet<string> Names => _databases.Keys.ToHashSet(StringComparer.Ordinal);

    /// <summary>A database by name.</summary>
    public ShardDatabase this[string name] => _databases.TryGetValue(name, out var database)
        ? database
        : throw new InvalidOperationException($"The storage database '{name}' is not configured (Storage:Shards).");

    /// <summary>True when the database may take new items: its probe answered and its breaker is closed.</summary>
    public bool IsHealthy(string name) =>
        _databases.TryGetValue(name, out var database) && database.Health.Up && Circuit(name) == CircuitState.Closed;

    /// <summary>The state of a database's breaker.</summary>
    public CircuitState Circuit(string name) => _circuits.State(Resilience.PostgresFor(name));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var source in _owned)
        {
            await source.DisposeAsync();
        }
    }
}

/// <summary>Probes every storage database (<c>SELECT 1</c>) every <see cref="StorageOptions.ProbeInterval"/>, so that
/// placement avoids a database that does not answer before any item's call has to find out.</summary>
public sealed partial class ShardHealthProbe(
    ShardDatabases databases, ShardDirectory directory, IOptions<StorageOptions> options, Telemetry.MediaMetrics metrics, ILogger<ShardHealthProbe> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        metrics.ObserveStorage(
            () => databases.All.Select(d => (d.Name, d.Health.Up)),
            () => directory.Current?.Epoch ?? 0,
            () => directory.Current?.Placements.Select(p => (p.Shard, p.State == ShardState.Draining)) ?? []);
        using var timer = new PeriodicTimer(options.Value.ProbeInterval);
        do
        {
            await Task.WhenAll(databases.All.Select(d => ProbeAsync(d, stoppingToken)));
            try
            {
                // Keeps this process's map current even when no call needed it (a frontend that only serves uploads
                // of existing items still sees a moved shard reopen).
                await directory.MapAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogMapUnread(logger, ex.Message);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Probes one database now and records what it answered.</summary>
    public async Task ProbeAsync(ShardDatabase database, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Value.ProbeTimeout);
            await using var command = database.DataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token);
            if (!database.Health.Up)
            {
                LogUp(logger, database.Name);
            }

            database.Health = new DatabaseHealth(true, DateTimeOffset.UtcNow, Stopwatch.GetElapsedTime(started).TotalMilliseconds, null);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            if (database.Health.Up)
            {
                LogDown(logger, database.Name, ex.Message);
            }

            database.Health = new DatabaseHealth(false, DateTimeOffset.UtcNow, null, ex is OperationCanceledException ? "no answer in time" : ex.Message);
        }
    }

    [LoggerMessage(EventId = LogEvents.Storage + 6, Level = LogLevel.Warning, Message = "Shard map not read: {Error}")]
    private static partial void LogMapUnread(ILogger logger, string error);

    [LoggerMessage(EventId = LogEvents.Storage + 1, Level = LogLevel.Warning, Message = "Storage database {Database} does not answer: {Error}")]
    private static partial void LogDown(ILogger logger, string database, string error);

    [LoggerMessage(EventId = LogEvents.Storage + 2, Level = LogLevel.Information, Message = "Storage database {Database} answers again")]
    private static partial void LogUp(ILogger logger, string database);
}
