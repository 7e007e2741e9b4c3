using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Mvc.Testing;

namespace MediaService.IntegrationTests.Infrastructure;

/// <summary>
/// The real ApiFrontend on Kestrel (a real port on 127.0.0.1), as an Orleans client that finds the
/// test cluster's silos through the PostgreSQL membership table.
/// </summary>
public sealed class FrontendFactory : WebApplicationFactory<Program>
{
    private readonly IReadOnlyDictionary<string, string?> _settings;

    private readonly TimeSpan? _shutdownTimeout;

    /// <param name="clusterId">The test cluster to join (found through PostgreSQL).</param>
    /// <param name="serviceId">The service id of the cluster.</param>
    /// <param name="overrides">Settings over the test defaults.</param>
    /// <param name="shutdownTimeout">How long disposing waits for requests in flight (short: as if the process died).</param>
    public FrontendFactory(string clusterId, string serviceId, IReadOnlyDictionary<string, string?>? overrides = null, TimeSpan? shutdownTimeout = null)
    {
        _shutdownTimeout = shutdownTimeout;
        var settings = TestEnvironment.Settings(clusterId, serviceId);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        // Keys made at start-up into files of this frontend's own (one owner, "dev", for every frontend of a test, so that
        // items are shared between them as between frontends of one deployment).
        var keys = Directory.CreateTempSubdirectory("frontend-keys-").FullName;
        settings.TryAdd("Auth:BootstrapAdminKeyFile", Path.Combine(keys, "admin-api-key"));
        settings.TryAdd("Auth:BootstrapUserKeyFile", Path.Combine(keys, "dev-api-key"));
        _settings = settings;
        UseKestrel(0);
        StartServer();
        AdminKey = File.ReadAllText(settings["Auth:BootstrapAdminKeyFile"]!).Trim();
        UserKey = File.ReadAllText(settings["Auth:BootstrapUserKeyFile"]!).Trim();
    }

    /// <summary>An admin key, made at this frontend's start.</summary>
    public string AdminKey { get; }

    /// <summary>A key of the owner <c>dev</c>, made at this frontend's start: the default clients send it.</summary>
    public string UserKey { get; }

    /// <summary>Where Kestrel listens (a real port on 127.0.0.1).</summary>
    public Uri Address => new(Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());

    /// <summary>A plain HttpClient (no test handlers: it streams and honours Expect: 100-continue as a real client
    /// does) with a timeout fit for 100 MiB bodies on a busy machine.</summary>
    public HttpClient CreateHttpClient() => CreateHttpClient(UserKey);

    /// <summary>A client that sends <paramref name="key"/> (none when null).</summary>
    public HttpClient CreateHttpClient(string? key)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromMinutes(3) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        if (_shutdownTimeout is { } timeout)
        {
            builder.ConfigureServices(services => services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = timeout));
        }
    }
}
