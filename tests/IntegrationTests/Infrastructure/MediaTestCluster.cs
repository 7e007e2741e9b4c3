using MediaService.DataPlane;
using MediaService.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
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
    private const string FastDeathKey = "MediaTests:FastDeathDetection";
    private const string SettingPrefix = "MediaTests:Setting:";

    /// <param name="serviceId">Grain state is keyed by it: the same id over two clusters means the same data.</param>
    /// <param name="silos">How many silos.</param>
    /// <param name="fastDeathDetection">Declare a killed silo dead within a few seconds (for fault tests).</param>
    /// <param name="settings">Settings of the silos over the test environment's (for example a relay in front of S3).</param>
    public static async Task<TestCluster> StartAsync(
        string serviceId, short silos = 2, bool fastDeathDetection = false, IReadOnlyDictionary<string, string>? settings = null)
    {
        var builder = new TestClusterBuilder(silos);
        builder.Options.ServiceId = serviceId;
        builder.Options.ClusterId = $"test-{Guid.NewGuid():N}";
        builder.Options.UseTestClusterMembership = false;
        // Real sockets: the frontend under test is an ordinary Orleans client that must reach the gateways.
        builder.Options.ConnectionTransport = ConnectionTransportType.TcpSocket;
        builder.Options.ConfigureFileLogging = false;
        builder.Properties[ServiceIdKey] = serviceId;
        builder.Properties[FastDeathKey] = fastDeathDetection.ToString();
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            builder.Properties[SettingPrefix + key] = value;
        }

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
                foreach (var setting in context.Configuration.AsEnumerable().Where(kv => kv.Key.StartsWith(SettingPrefix, StringComparison.Ordinal)))
                {
                    settings[setting.Key[SettingPrefix.Length..]] = setting.Value;
                }

                var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
                silo.AddMediaSilo(configuration);
                if (bool.TryParse(context.Configuration[FastDeathKey], out var fast) && fast)
                {
                    silo.Configure<ClusterMembershipOptions>(options =>
                    {
                        options.ProbeTimeout = TimeSpan.FromSeconds(1);
                        options.NumMissedProbesLimit = 2;
                        options.NumVotesForDeathDeclaration = 1;
                    });
                }
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
