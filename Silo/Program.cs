using System.Net;
using MediaService.DataPlane.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace MediaService.Silo;

/// <summary>
/// The silo host: configuration from appsettings.json, environment variables and the command line. Besides the
/// Orleans ports it listens on a small HTTP port of its own for <c>/metrics</c>, <c>/health/live</c>,
/// <c>/health/ready</c> and the Orleans dashboard.
/// </summary>
internal static class SiloProgram
{
    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);

        builder.Services.AddOptions<SiloHostOptions>().Bind(builder.Configuration.GetSection(SiloHostOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        var siloOptions = builder.Configuration.GetSection(SiloHostOptions.Section).Get<SiloHostOptions>() ?? new SiloHostOptions();

        builder.UseOrleans(silo =>
        {
            silo.AddMediaSilo(builder.Configuration);
            silo.AddMediaOperations(builder.Configuration);
            silo.Configure<ClusterOptions>(builder.Configuration.GetSection("Orleans"));
            if (KubernetesHosting.Detected)
            {
                // In a pod: the pod's IP and name, and ids from its labels (see deploy/k8s).
                silo.UseMediaKubernetesHosting(siloOptions);
            }
            else
            {
                silo.ConfigureEndpoints(IPAddress.Parse(siloOptions.AdvertisedAddress), siloOptions.SiloPort, siloOptions.GatewayPort, listenOnAnyHostAddress: false);
            }
        });

        builder.Services.AddMediaTelemetry(builder.Configuration, "media-silo");
        builder.Services.AddSiloHealthChecks();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Parse(siloOptions.HttpAddress), siloOptions.HttpPort));

        // SIGTERM stops the host: Orleans leaves the cluster gracefully, deactivating grains with state saved.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = siloOptions.ShutdownTimeout);

        await using var app = builder.Build();
        app.MapSiloHealth();
        app.MapMediaMetrics(app.Configuration);
        app.MapMediaDashboard(app.Configuration);
        await app.RunAsync();
    }
}
