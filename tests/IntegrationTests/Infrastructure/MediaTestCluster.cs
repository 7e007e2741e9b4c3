using MediaService.DataPlane;
using MediaService.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Orleans.TestingHost;

namespace MediaService.IntegrationTests.Infrastructure;

/// <summary>
/// A TestingHost cluster of real silos whose membership, grain state and reminders are in the test
/// PostgreSQL, and whose data plane is the test S3 server: the same providers as production
/// (<see cref="MediaSiloBuilderExtensions.AddMediaSilo"/>), not the testing host's in-memory ones.
/// </summary>
public static class MediaTestCluster
{
    private const string ServiceIdKey = "MediaTests:ServiceId";

    public static async Task<TestCluster> StartAsync(string serviceId, short silos = 2)
    {
        var builder = new TestClusterBuilder(silos);
        builder.Options.ServiceId = serviceId;
        builder.Options.ClusterId = $"test-{Guid.NewGuid():N}";
        builder.Options.UseTestClusterMembership = false;
        // Real sockets: the frontend under test is an ordinary Orleans client that must reach the gateways.
        builder.Options.ConnectionTransport = ConnectionTransportType.TcpSocket;
        builder.Options.ConfigureFileLogging = false;
        builder.Properties[ServiceIdKey] = serviceId;
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    private sealed class SiloConfigurator : IHostConfigurator
    {
        public void Configure(IHostBuilder hostBuilder) =>
            hostBuilder.UseOrleans((context, silo) =>
            {
                var settings = TestEnvironment.Settings(context.Configuration["Orleans:ClusterId"]!, context.Configuration[ServiceIdKey]!);
                var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
                silo.AddMediaSilo(configuration);
            });
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.UseAdoNetClustering(options =>
            {
                options.Invariant = PostgresOptions.Invariant;
                options.ConnectionString = TestEnvironment.ConnectionString;
            });
    }
}
