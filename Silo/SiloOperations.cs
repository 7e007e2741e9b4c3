using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Hosting.Kubernetes;

namespace MediaService.Silo;

/// <summary>Operators' features of the silo host: activation rebalancing and the Orleans dashboard.</summary>
public static class SiloOperations
{
    /// <summary>Adds what <see cref="OperationsOptions"/> turns on.</summary>
    public static ISiloBuilder AddMediaOperations(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddOptions<OperationsOptions>().Bind(configuration.GetSection(OperationsOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        var options = Options(configuration);
        if (options.Rebalancing)
        {
#pragma warning disable ORLEANSEXP002 // The rebalancer is experimental in Orleans 10; it migrates idle activations only.
            silo.AddActivationRebalancer();
#pragma warning restore ORLEANSEXP002
            silo.Configure<ActivationRebalancerOptions>(configuration.GetSection("Orleans:Rebalancer"));
        }

        if (options.Dashboard)
        {
            silo.AddDashboard(o => o.CounterUpdateIntervalMs = options.DashboardUpdateIntervalMs);
        }

        return silo;
    }

    /// <summary>Maps the dashboard when it is on. The silo's HTTP port is for operators: keep it off public networks.</summary>
    public static void MapMediaDashboard(this IEndpointRouteBuilder endpoints, IConfiguration configuration)
    {
        var options = Options(configuration);
        if (options.Dashboard)
        {
            endpoints.MapOrleansDashboard(options.DashboardPath);
        }
    }

    private static OperationsOptions Options(IConfiguration configuration) =>
        configuration.GetSection(OperationsOptions.Section).Get<OperationsOptions>() ?? new OperationsOptions();
}

/// <summary>Running in a Kubernetes pod (see <c>deploy/k8s</c>).</summary>
public static class KubernetesHosting
{
    /// <summary>True inside a pod that was given its name (the manifests set <c>POD_NAME</c> from the downward API).</summary>
    public static bool Detected =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST"))
        && !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(KubernetesHostingOptions.PodNameEnvironmentVariable));

    /// <summary>
    /// Orleans' Kubernetes hosting: the silo advertises the pod's IP and is named after the pod; cluster and service ids
    /// come from <c>ORLEANS_CLUSTER_ID</c>/<c>ORLEANS_SERVICE_ID</c>; a deleted pod's silo is declared dead at once.
    /// Membership stays in PostgreSQL.
    /// </summary>
    public static ISiloBuilder UseMediaKubernetesHosting(this ISiloBuilder silo, SiloHostOptions options)
    {
        silo.UseKubernetesHosting();
        silo.Configure<EndpointOptions>(endpoints =>
        {
            endpoints.SiloPort = options.SiloPort;
            endpoints.GatewayPort = options.GatewayPort;
        });
        return silo;
    }
}
