using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Serialization;
using MediaService.ApiFrontend;
using MediaService.ApiFrontend.Access;
using MediaService.ApiFrontend.Http;
using MediaService.ApiFrontend.Limits;
using MediaService.ApiFrontend.Media;
using MediaService.ApiFrontend.Tus;
using MediaService.ApiFrontend.Uploads;
using MediaService.DataPlane;
using MediaService.DataPlane.Objects;
using MediaService.DataPlane.Sharding;
using MediaService.DataPlane.Telemetry;
using MediaService.DataPlane.Webhooks;
using MediaService.Grains;
using MediaService.Grains.Interfaces;
using MediaService.Grains.Operations;
using MediaService.Grains.Processing;
using MediaService.InProcessTests.Fakes;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace MediaService.InProcessTests.Host;

/// <summary>
/// One process holding the real tus and REST handlers, the real append path and the real media item grain on a
/// co-hosted silo (memory grain storage, in-memory reminders), over in-memory fakes of the service's narrow seams: the
/// object store (<see cref="FakeObjectStore"/>), the index, the webhook hand-off, processing, secrets and the shard map.
/// The pipeline is the production one for the protocol's rules (exception handler with
/// <c>ClusterExceptionHandler</c>, method override, authentication, owner propagation, issued-id check), with a test
/// authentication scheme in place of the PostgreSQL-backed API keys. One host per test class.
/// </summary>
public sealed class InProcessHost : IAsyncLifetime
{
    /// <summary>The largest upload the host accepts (Uploads:MaxUploadBytes).</summary>
    public const long MaxUploadBytes = 64L * 1024 * 1024;

    /// <summary>The owner every client of <see cref="Http"/> acts as.</summary>
    public const string Owner = "alice";

    private WebApplication? _app;

    /// <summary>The in-memory S3.</summary>
    public FakeObjectStore Store { get; } = new();

    /// <summary>The search index's rows and owners' usage.</summary>
    public RecordingIndex Index { get; } = new();

    /// <summary>The webhook events handed off.</summary>
    public RecordingEventHandOff Events { get; } = new();

    /// <summary>The processing attempts queued.</summary>
    public RecordingProcessingQueue Processing { get; } = new();

    /// <summary>The shard map and the secrets.</summary>
    public FixedPlacement Placement { get; } = new();

    /// <summary>A client that authenticates as <see cref="Owner"/>.</summary>
    public HttpClient Http { get; private set; } = null!;

    /// <summary>The cluster client of the co-hosted silo.</summary>
    public IClusterClient Cluster => _app!.Services.GetRequiredService<IClusterClient>();

    /// <summary>A client of the same host acting as <paramref name="owner"/>, or anonymous when null.</summary>
    public HttpClient ClientFor(string? owner)
    {
        var client = _app!.GetTestClient();
        if (owner is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", owner);
        }

        return client;
    }

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseTestServer();
        // Only the options' defaults and the settings here: not the frontend's appsettings.json (copied next to the
        // tests) nor the environment, which name the real PostgreSQL and S3.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(Settings());
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);

        AddFakes(builder.Services);
        var (siloPort, gatewayPort) = (FreePort(), FreePort());
        var cluster = $"inproc-{Guid.NewGuid():N}";
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: cluster, clusterId: cluster);
            silo.Configure<EndpointOptions>(o => o.AdvertisedIPAddress = IPAddress.Loopback);
            silo.AddMemoryGrainStorage(StorageNames.Media, options => options.Configure<Serializer>((o, serializer) =>
                o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer)));
            silo.UseInMemoryReminderService();
            AddMediaItemGrainServices(silo.Services, builder.Configuration);
        });
        AddFrontendServices(builder.Services, builder.Configuration);

        _app = builder.Build();
        UseFrontendPipeline(_app);
        await _app.StartAsync();
        Http = ClientFor(Owner);
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_app is not null)
        {
            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await _app.StopAsync(stopping.Token);
            await _app.DisposeAsync();
        }
    }

    private static Dictionary<string, string?> Settings() => new()
    {
        ["Uploads:MaxUploadBytes"] = MaxUploadBytes.ToString(CultureInfo.InvariantCulture),
        ["S3:PartSizeBytes"] = S3Options.MinPartSizeBytes.ToString(CultureInfo.InvariantCulture),
        ["RateLimits:Enabled"] = "false",
    };

    // The fakes, registered before the production registrations, whose TryAdd then keeps them.
    private void AddFakes(IServiceCollection services)
    {
        services.AddSingleton(Store);
        services.AddSingleton<IPartWriter>(Store);
        services.AddSingleton<IObjectLifecycle>(Store);
        services.AddSingleton<IObjectReader>(Store);
        services.AddSingleton(Index);
        services.AddSingleton<IIndexWriter>(Index);
        services.AddSingleton<IOwnerUsage>(Index);
        services.AddSingleton<IEventHandOff>(Events);
        services.AddSingleton<IProcessingQueue>(Processing);
        services.AddSingleton<ISecretSource>(Placement);
        services.AddSingleton<IShardMapSource>(Placement);
        services.AddSingleton<IDatabaseHealth>(Placement);
    }

    /// <summary>
    /// Every service type <see cref="MediaItemGrain"/>'s constructor takes, but for its persistent state (the memory
    /// grain storage named <see cref="StorageNames.Media"/>) and what every host has (<see cref="IHostApplicationLifetime"/>,
    /// its logger). The seams (IObjectLifecycle, IIndexWriter, IEventHandOff, IProcessingQueue) are the fakes of
    /// <see cref="AddFakes"/>. A change of the grain's dependencies is one edit here.
    /// </summary>
    private static void AddMediaItemGrainServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<UploadOptions>().Bind(configuration.GetSection(UploadOptions.Section)).ValidateDataAnnotations();
        services.AddOptions<PostgresOptions>().Bind(configuration.GetSection(PostgresOptions.Section)).ValidateDataAnnotations();
        services.AddOptions<ProcessingOptions>().Bind(configuration.GetSection(ProcessingOptions.Section)).ValidateDataAnnotations();
        services.AddOptions<MetadataOptions>().Bind(configuration.GetSection(MetadataOptions.Section)).ValidateDataAnnotations();
        services.AddOptions<WebhookOptions>().Bind(configuration.GetSection(WebhookOptions.Section)).ValidateDataAnnotations();
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<MediaMetrics>();
        services.TryAddSingleton<SiloPeers>();
    }

    // What the tus and REST handlers inject, registered as production registers it (AddMediaDataPlane, the frontend's
    // options and services), with the PostgreSQL-backed pieces replaced by the fakes and a test scheme for API keys.
    private static void AddFrontendServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddMediaDataPlane(configuration);
        services.AddOptions<MetadataOptions>().Bind(configuration.GetSection(MetadataOptions.Section)).ValidateDataAnnotations();
        services.AddOptions<TusOptions>().Bind(configuration.GetSection(TusOptions.Section)).ValidateDataAnnotations();
        services.AddOptions<HttpEdgeOptions>().Bind(configuration.GetSection(HttpEdgeOptions.Section)).ValidateDataAnnotations();
        services.AddOptions<QuotaOptions>().Bind(configuration.GetSection(QuotaOptions.Section)).ValidateDataAnnotations();
        services.AddOptions<RateLimitOptions>().Bind(configuration.GetSection(RateLimitOptions.Section));
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section));
        services.AddSingleton<UploadWriter>();
        services.AddSingleton<MediaIngest>();
        services.AddSingleton<TusConcatenation>();
        services.AddSingleton<MediaIdIssuer>();
        services.AddSingleton<ShareLinks>();
        services.AddSingleton<Quotas>();
        // Search reads PostgreSQL and is not part of this layer: GET /media answers 500 here.
        services.AddSingleton<ShardedIndex>(_ => throw new NotSupportedException("Search is not part of the in-process layer."));
        services.AddAuthentication(TestAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, TestAuthenticationHandler>(TestAuthenticationHandler.SchemeName, null);
        services.AddAuthorization(options => options.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        services.AddProblemDetails(options => options.CustomizeProblemDetails = MediaService.ApiFrontend.Http.ApiErrors.FillFrameworkProblem);
        services.AddExceptionHandler<ClusterExceptionHandler>();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull);
    }

    // UseMediaFrontend's order, with the middlewares the protocol's rules depend on.
    private static void UseFrontendPipeline(WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseTusMethodOverride();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseOwnerPropagation();
        app.UseIssuedMediaIds();
        app.UseMediaIdLogScope();
        app.UseStatusCodePages();
        app.MapUploads();
        app.MapMedia();
        app.MapMetadata();
        app.MapTus();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
