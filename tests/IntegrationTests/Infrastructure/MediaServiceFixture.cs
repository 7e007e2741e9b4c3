using Orleans.TestingHost;

namespace MediaService.IntegrationTests.Infrastructure;

/// <summary>Two silos and one frontend, shared by the HTTP tests of one collection.</summary>
public sealed class MediaServiceFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; private set; } = null!;

    public FrontendFactory Frontend { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public string ServiceId { get; } = $"media-tests-{Guid.NewGuid():N}";

    public async Task InitializeAsync()
    {
        Cluster = await MediaTestCluster.StartAsync(ServiceId);
        Frontend = new FrontendFactory(Cluster.Options.ClusterId, ServiceId);
        Http = Frontend.CreateHttpClient();
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Frontend.DisposeAsync();
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class MediaServiceCollection : ICollectionFixture<MediaServiceFixture>
{
    public const string Name = "media service";
}
