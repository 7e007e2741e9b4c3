using System.Text.Json;
using MediaService.DataPlane;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using Polly;
using Polly.Registry;

namespace MediaService.ApiFrontend.Health;

/// <summary><c>/health/live</c> (the process answers) and <c>/health/ready</c> (cluster, PostgreSQL and S3 answer).</summary>
public static class HealthEndpoints
{
    private const string Ready = "ready";

    /// <summary>Registers the readiness checks. They run side by side, each within <c>Health:CheckTimeout</c> (default
    /// 1.5 s), so that <c>/health/ready</c> answers within about that time whatever hangs behind it.</summary>
    public static IServiceCollection AddMediaHealthChecks(this IServiceCollection services, IConfiguration configuration)
    {
        var timeout = configuration.GetValue("Health:CheckTimeout", TimeSpan.FromSeconds(1.5));
        if (timeout <= TimeSpan.Zero || timeout > TimeSpan.FromMinutes(1))
        {
            throw new InvalidOperationException("Health:CheckTimeout must be over zero and at most 1 minute.");
        }

        services.AddHealthChecks()
            .AddCheck<ClusterHealthCheck>("cluster", failureStatus: null, tags: [Ready], timeout: timeout)
            .AddCheck<PostgresHealthCheck>("postgres", failureStatus: null, tags: [Ready], timeout: timeout)
            .AddCheck<S3HealthCheck>("s3", failureStatus: null, tags: [Ready], timeout: timeout);
        return services;
    }

    /// <summary>Maps both health routes; they stay anonymous.</summary>
    public static IEndpointRouteBuilder MapMediaHealth(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync }).WithTags("Health").AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(Ready), ResponseWriter = WriteAsync }).WithTags("Health")
            .AllowAnonymous();
        return app;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                e => e.Key,
                e => new { status = e.Value.Status.ToString(), description = e.Value.Description, durationMs = e.Value.Duration.TotalMilliseconds }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }
}

/// <summary>Healthy when the Orleans client reaches the cluster and at least one silo is active.</summary>
internal sealed class ClusterHealthCheck(IClusterClient cluster) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var hosts = await cluster.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(cancellationToken);
            return hosts.Count > 0
                ? HealthCheckResult.Healthy($"{hosts.Count} active silo(s)")
                : HealthCheckResult.Unhealthy("No active silo.");
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy("The cluster did not answer.", ex);
        }
    }
}

/// <summary>Healthy when PostgreSQL answers a query.</summary>
internal sealed class PostgresHealthCheck(NpgsqlDataSource dataSource, ResiliencePipelineProvider<string> pipelines) : IHealthCheck
{
    private readonly ResiliencePipeline _pipeline = pipelines.GetPipeline(Resilience.Postgres);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await _pipeline.ExecuteAsync(async ct =>
            {
                await using var command = dataSource.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync(ct);
            }, cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy("PostgreSQL did not answer.", ex);
        }
    }
}

/// <summary>Healthy when the bucket answers a listing.</summary>
internal sealed class S3HealthCheck(MediaObjectStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await store.ProbeAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy("S3 did not answer.", ex);
        }
    }
}
