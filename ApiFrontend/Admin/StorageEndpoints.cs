using MediaService.ApiFrontend.Limits;
using MediaService.ApiFrontend.Http;
using MediaService.DataPlane.Sharding;
using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Http.HttpResults;
using Polly.CircuitBreaker;

namespace MediaService.ApiFrontend.Admin;

/// <summary>Media items' storage as operators see it (admin keys only): <c>GET /admin/storage</c> lists the databases
/// and the logical shards with counts, sizes and health; <c>POST /admin/storage/shards/{shard}/move</c> moves a shard to
/// another database.</summary>
public static class StorageEndpoints
{
    /// <summary>Maps <c>/admin/storage</c>.</summary>
    public static IEndpointRouteBuilder MapStorageAdmin(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin/storage").WithTags("Admin").RequireAuthorization(AdminEndpoints.Policy);
        group.MapGet("/", GetAsync).WithName("GetStorage")
            .WithSummary("Storage databases and logical shards: where each shard lives, item counts, sizes, health, and recent moves.");
        group.MapPost("/shards/{shard:int}/move", MoveAsync).WithName("MoveShard")
            .WithSummary("Moves a logical shard to another database: its items answer 503 for the move, then live there.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.MapGet("/moves/{id:long}", GetMoveAsync).WithName("GetShardMove").WithSummary("One shard move, with its step and the rows it copied.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    internal static async Task<Ok<StorageResponse>> GetAsync(
        ShardDirectory directory, ShardDatabases databases, ShardStatistics statistics, ShardMover mover, bool? fresh, CancellationToken cancellationToken)
    {
        var map = await directory.MapAsync(cancellationToken);
        var usage = await statistics.UsageAsync(fresh == true, cancellationToken);
        IReadOnlyList<ShardMove> moves;
        try
        {
            moves = await mover.RecentAsync(10, cancellationToken);
        }
        catch (Exception ex) when (DataPlane.Resilience.IsPostgresUnavailable(ex))
        {
            moves = [];
        }

        var views = databases.All.Select(d =>
        {
            var u = usage[d.Name];
            var held = map.Placements.Where(p => p.Database == d.Name).Select(p => p.Shard).ToHashSet();
            var up = d.Health.Up && u.Error is null;
            return new StorageDatabaseView(
                d.Name, d.Host, d.DatabaseName, d.IsControl, up ? "up" : "down", Circuit(databases.Circuit(d.Name)), d.Health.LatencyMs, d.Health.Error ?? u.Error,
                [.. map.Placements.Where(p => p.Database == d.Name).Select(p => p.Shard)],
                up ? u.Shards.Where(s => held.Contains(s.Key)).Sum(s => s.Value.Items) : null,
                up ? u.Shards.Where(s => held.Contains(s.Key)).Sum(s => s.Value.MediaBytes) : null,
                up ? u.Shards.Where(s => held.Contains(s.Key)).Sum(s => s.Value.RowBytes) : null,
                up ? u.DatabaseBytes : null,
                up ? u.Shards.Where(s => !held.Contains(s.Key)).Sum(s => s.Value.Items) : null);
        }).ToList();
        var shards = map.Placements.Select(p => usage[p.Database] is { Error: null } u
            ? new StorageShardView(p.Shard, p.Database, ShardDirectory.StateName(p.State),
                u.Shards.TryGetValue(p.Shard, out var s) ? s.Items : 0, s?.MediaBytes ?? 0, s?.RowBytes ?? 0)
            : new StorageShardView(p.Shard, p.Database, ShardDirectory.StateName(p.State), null, null, null)).ToList();
        return TypedResults.Ok(new StorageResponse(ShardKey.LogicalShards, map.Epoch, views, shards, [.. moves.Select(View)]));
    }

    internal static async Task<Results<Accepted<ShardMoveView>, ProblemHttpResult>> MoveAsync(int shard, ShardMoveRequest request, IClusterClient cluster)
    {
        if (shard is < 0 or >= ShardKey.LogicalShards)
        {
            return Problems.Invalid(new Dictionary<string, string[]> { ["shard"] = [$"A logical shard, 0 to {ShardKey.LogicalShards - 1}."] });
        }

        if (string.IsNullOrWhiteSpace(request.To))
        {
            return Problems.Invalid(new Dictionary<string, string[]> { ["to"] = ["The name of the storage database to move the shard to (Storage:Shards)."] });
        }

        try
        {
            var move = await cluster.GetGrain<IShardMoveGrain>(shard).StartAsync(request.To);
            return TypedResults.Accepted($"/admin/storage/moves/{move.Id}", move);
        }
        catch (MediaException ex) when (ex.Code == MediaErrorCode.InvalidInput)
        {
            return ApiErrors.StorageInvalid.Problem(ex.Message);
        }
        catch (MediaException ex) when (ex.Code == MediaErrorCode.InvalidState)
        {
            return ApiErrors.ShardMoveConflict.Problem(ex.Message);
        }
    }

    internal static async Task<Results<Ok<ShardMoveView>, ProblemHttpResult>> GetMoveAsync(long id, ShardMover mover, CancellationToken cancellationToken) =>
        await mover.GetAsync(id, cancellationToken) is { } move
            ? TypedResults.Ok(View(move))
            : ApiErrors.ShardMoveNotFound.Problem($"No shard move has id {id}.");

    private static ShardMoveView View(ShardMove m) => new(m.Id, m.Shard, m.Source, m.Target, m.Step, m.Rows, m.Error, m.StartedAt, m.StepAt, m.FinishedAt);

    private static string Circuit(CircuitState state) => state switch
    {
        CircuitState.Closed => "closed",
        CircuitState.Open => "open",
        CircuitState.HalfOpen => "half-open",
        _ => "isolated",
    };
}

/// <summary>Where to move a shard.</summary>
/// <param name="To">A storage database's name (<c>Storage:Shards</c>).</param>
public sealed record ShardMoveRequest(string? To);

/// <summary>The answer of <c>GET /admin/storage</c>.</summary>
/// <param name="LogicalShards">How many logical shards there are (64, forever).</param>
/// <param name="Epoch">The shard map's epoch (it goes up with every change).</param>
/// <param name="Databases">The configured databases.</param>
/// <param name="Shards">Every logical shard.</param>
/// <param name="Moves">The latest moves, newest first.</param>
public sealed record StorageResponse(int LogicalShards, long Epoch, IReadOnlyList<StorageDatabaseView> Databases, IReadOnlyList<StorageShardView> Shards,
    IReadOnlyList<ShardMoveView> Moves);

/// <summary>One storage database. Counts are null while it does not answer.</summary>
/// <param name="Name">Its name in <c>Storage:Shards</c>.</param>
/// <param name="Host">host:port.</param>
/// <param name="Database">Its name on the server.</param>
/// <param name="Control">True when it is the control database too.</param>
/// <param name="Health">up or down (its last probe, or the count query, failed).</param>
/// <param name="Circuit">Its breaker: closed, open, half-open.</param>
/// <param name="LatencyMs">Its last probe's round trip.</param>
/// <param name="Error">Why it is down.</param>
/// <param name="Shards">The logical shards the map places on it.</param>
/// <param name="Items">Items of those shards.</param>
/// <param name="MediaBytes">Bytes of their stored media (in S3).</param>
/// <param name="RowBytes">Bytes of their state rows.</param>
/// <param name="DatabaseBytes">The database's size on disk.</param>
/// <param name="LeftoverItems">Index rows of shards the map places elsewhere (a move's source before its clean-up).</param>
public sealed record StorageDatabaseView(string Name, string Host, string Database, bool Control, string Health, string Circuit, double? LatencyMs, string? Error,
    IReadOnlyList<int> Shards, long? Items, long? MediaBytes, long? RowBytes, long? DatabaseBytes, long? LeftoverItems);

/// <summary>One logical shard. Counts are null while its database does not answer.</summary>
public sealed record StorageShardView(int Shard, string Database, string State, long? Items, long? MediaBytes, long? RowBytes);
