using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MediaService.Silo;

/// <summary>
/// The silo's <c>/health/live</c> (the process answers) and <c>/health/ready</c> (the silo is an active member of the
/// cluster: it has joined and is not shutting down), for orchestrators and scripts.
/// </summary>
public static class SiloHealth
{
    private const string Ready = "ready";

    /// <summary>Registers the membership check.</summary>
    public static IServiceCollection AddSiloHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<MembershipHealthCheck>("membership", tags: [Ready]);
        return services;
    }

    /// <summary>Maps both routes.</summary>
    public static IEndpointRouteBuilder MapSiloHealth(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(Ready), ResponseWriter = WriteAsync });
        return app;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        }));
    }

    private sealed class MembershipHealthCheck(IServiceProvider services) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var local = services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
            var status = services.GetRequiredService<IClusterMembershipService>().CurrentSnapshot.GetSiloStatus(local);
            return Task.FromResult(status == SiloStatus.Active
                ? HealthCheckResult.Healthy($"{local} is active")
                : HealthCheckResult.Unhealthy($"{local} is {status}"));
        }
    }
}
