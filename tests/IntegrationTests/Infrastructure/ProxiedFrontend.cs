namespace MediaService.IntegrationTests.Infrastructure;

/// <summary>A frontend of the fixture's cluster whose way to S3 goes through a <see cref="TcpProxy"/> in front of the
/// real S3 server, with extra settings of its own.</summary>
public sealed class ProxiedFrontend : IAsyncDisposable
{
    public ProxiedFrontend(MediaServiceFixture service, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>())
        {
            ["S3:ServiceUrl"] = Proxy.Address.ToString(),
        };
        Frontend = new FrontendFactory(service.Cluster.Options.ClusterId, service.ServiceId, all);
        Http = Frontend.CreateHttpClient();
    }

    public TcpProxy Proxy { get; } = new(new Uri(TestEnvironment.S3ServiceUrl));

    public FrontendFactory Frontend { get; }

    public HttpClient Http { get; }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Frontend.DisposeAsync();
        await Proxy.DisposeAsync();
    }
}
