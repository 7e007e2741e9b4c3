using MediaService.ApiFrontend.Limits;
using MediaService.DataPlane.Telemetry;
using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MediaService.ApiFrontend.Admin;

/// <summary>The cluster as operators see it: <c>GET /admin/cluster</c> (admin keys only).</summary>
public static class ClusterEndpoints
{
    /// <summary>Maps <c>/admin/cluster</c>.</summary>
    public static IEndpointRouteBuilder MapClusterAdmin(this IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/cluster", GetAsync).WithTags("Admin").RequireAuthorization(AdminEndpoints.Policy).WithName("GetCluster")
            .WithSummary("Silos with their status, activations, media items, uploads in progress and processing; and this frontend's appends.");
        return app;
    }

    // A cluster that cannot answer is a 503 cluster-unavailable, from ClusterExceptionHandler like every other route.
    internal static async Task<Ok<ClusterResponse>> GetAsync(IClusterClient cluster, MediaMetrics metrics, bool? includeDead, CancellationToken cancellationToken)
    {
        var view = await cluster.GetGrain<IClusterAdminGrain>(0).GetClusterAsync(includeDead == true).WaitAsync(cancellationToken);
        return TypedResults.Ok(new ClusterResponse(view.At, view.ClusterId, view.Silos, new FrontendView(Environment.MachineName, Environment.ProcessId, metrics.ActiveAppends)));
    }
}

/// <summary>The frontend that answered.</summary>
/// <param name="Host">Its host name.</param>
/// <param name="ProcessId">Its process id.</param>
/// <param name="AppendsInProgress">Requests streaming upload bytes through it now.</param>
public sealed record FrontendView(string Host, int ProcessId, long AppendsInProgress);

/// <summary>The answer of <c>GET /admin/cluster</c>.</summary>
public sealed record ClusterResponse(DateTimeOffset At, string ClusterId, IReadOnlyList<SiloView> Silos, FrontendView Frontend);
