using Amazon;
using MediaService.DataPlane.Sharding;
using Amazon.Runtime;
using Amazon.S3;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace MediaService.DataPlane;

/// <summary>Registers the S3 data plane and the resilience pipelines, for the silo and the frontend alike.</summary>
public static class DataPlaneServiceCollectionExtensions
{
    /// <summary>Adds <see cref="MediaObjectStore"/>, its S3 client and the Polly pipelines; options are validated at start-up.</summary>
    public static IServiceCollection AddMediaDataPlane(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<S3Options>().Bind(configuration.GetSection(S3Options.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<PostgresOptions>().Bind(configuration.GetSection(PostgresOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<UploadOptions>().Bind(configuration.GetSection(UploadOptions.Section)).ValidateDataAnnotations()
            .Validate<IOptions<S3Options>>((o, s3) => o.MaxUploadBytes <= s3.Value.MaxObjectBytes, "Uploads:MaxUploadBytes exceeds S3:PartSizeBytes x 10,000 (the S3 part limit).")
            .ValidateOnStart();
        services.AddMediaResilience();
        services.AddMetrics();
        services.TryAddSingleton<Telemetry.MediaMetrics>();
        services.AddSingleton<IAmazonS3>(sp => CreateClient(sp.GetRequiredService<IOptions<S3Options>>().Value));
        services.AddSingleton<MediaObjectStore>();
        // The seams each consumer sees (the edge writes parts, the grain owns objects' lives, serving reads); the
        // in-process tests replace them with in-memory fakes.
        services.TryAddSingleton<Objects.IPartWriter>(sp => sp.GetRequiredService<MediaObjectStore>());
        services.TryAddSingleton<Objects.IObjectLifecycle>(sp => sp.GetRequiredService<MediaObjectStore>());
        services.TryAddSingleton<Objects.IObjectReader>(sp => sp.GetRequiredService<MediaObjectStore>());
        var connectionString = configuration.GetConnectionString(PostgresOptions.ConnectionStringName);
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            services.AddSingleton(_ => Npgsql.NpgsqlDataSource.Create(connectionString));

            // Media items' storage: the databases of Storage:Shards (by default the control database alone), each with a
            // pipeline and a breaker of its own, the shard map in the control database, and the index over all of them.
            // The caller registers MediaServiceId (Orleans' ServiceId).
            services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
            var storage = configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
            foreach (var name in storage.Databases(connectionString).Keys)
            {
                services.AddPostgresPipeline(Resilience.PostgresFor(name));
            }

            services.AddSingleton<ShardDatabases>();
            services.AddSingleton<ShardDirectory>();
            services.TryAddSingleton<IShardMapSource>(sp => sp.GetRequiredService<ShardDirectory>());
            services.TryAddSingleton<IDatabaseHealth>(sp => sp.GetRequiredService<ShardDatabases>());
            services.AddSingleton<ShardedIndex>();
            services.TryAddSingleton<IIndexWriter>(sp => sp.GetRequiredService<ShardedIndex>());
            services.TryAddSingleton<IOwnerUsage>(sp => sp.GetRequiredService<ShardedIndex>());
            services.AddSingleton<ShardMover>();
            services.AddSingleton<ShardStatistics>();
            services.AddHostedService<ShardDirectoryStartup>();
            services.AddSingleton<ShardHealthProbe>();
            services.AddHostedService(sp => sp.GetRequiredService<ShardHealthProbe>());
        }

        return services;
    }

    /// <summary>Builds an S3 client for the options: retries are Polly's, not the SDK's, and checksums are
    /// computed only when the operation requires them (s3rver cannot parse the trailing-checksum framing).</summary>
    public static AmazonS3Client CreateClient(S3Options options)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            MaxErrorRetry = 0,
            Timeout = options.CompleteTimeout,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            BufferSize = options.WriteBufferBytes,
            HttpClientFactory = new S3HttpClients(options.ConnectTimeout),
        };
        if (string.IsNullOrEmpty(options.ServiceUrl))
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }
        else
        {
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = options.Region;
        }

        return string.IsNullOrEmpty(options.AccessKey)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
    }

    // The SDK's HTTP client, with a connect timeout: a store that does not accept connections fails an attempt in
    // S3:ConnectTimeout rather than in the operating system's minutes. The pipeline's timeouts bound the rest.
    private sealed class S3HttpClients(TimeSpan connectTimeout) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) =>
            new(new SocketsHttpHandler { ConnectTimeout = connectTimeout, PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
            {
                Timeout = clientConfig.Timeout ?? Timeout.InfiniteTimeSpan,
            };
    }
}
