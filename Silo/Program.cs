using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace MediaService.Silo;

/// <summary>The silo host: configuration from appsettings.json, environment variables and the command line.</summary>
internal static class SiloProgram
{
    public static async Task Main(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);

        builder.Services.AddOptions<SiloHostOptions>().Bind(builder.Configuration.GetSection(SiloHostOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        var siloOptions = builder.Configuration.GetSection(SiloHostOptions.Section).Get<SiloHostOptions>() ?? new SiloHostOptions();

        builder.UseOrleans(silo =>
        {
            silo.AddMediaSilo(builder.Configuration);
            silo.Configure<ClusterOptions>(builder.Configuration.GetSection("Orleans"));
            silo.ConfigureEndpoints(IPAddress.Parse(siloOptions.AdvertisedAddress), siloOptions.SiloPort, siloOptions.GatewayPort, listenOnAnyHostAddress: false);
        });

        // SIGTERM stops the host: Orleans leaves the cluster gracefully, deactivating grains with state saved.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = siloOptions.ShutdownTimeout);

        using var host = builder.Build();
        await host.RunAsync();
    }
}
