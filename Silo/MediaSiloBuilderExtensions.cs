using MediaService.DataPlane;
using MediaService.Grains;
using MediaService.Grains.Interfaces;
using MediaService.Grains.Operations;
using MediaService.Grains.Processing;
using MediaService.Grains.Storage;
using MediaService.DataPlane.Sharding;
using Orleans.Runtime.Hosting;
using Orleans.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Orleans.Storage;

namespace MediaService.Silo;

/// <summary>The silo's providers and services, shared by the silo host and the test cluster.</summary>
public static class MediaSiloBuilderExtensions
{
    /// <summary>
    /// PostgreSQL (ADO.NET) clustering, grain storage and reminders, and the S3 data plane. Cluster ids
    /// and endpoints are left to the caller: the host reads them from configuration, tests allocate them.
    /// </summary>
    public static ISiloBuilder AddMediaSilo(this ISiloBuilder silo, IConfiguration configuration)
    {
        var connectionString = configuration.GetConnectionString(PostgresOptions.ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{PostgresOptions.ConnectionStringName} is not set: the silo keeps membership and state in PostgreSQL.");
        }

        silo.UseAdoNetClustering(options =>
        {
            options.Invariant = PostgresOptions.Invariant;
            options.ConnectionString = connectionString;
        });

        // Media items' state: one ADO.NET provider per database of Storage:Shards (by default the one database), behind a
        // router that picks the database of an item's logical shard.
        var storage = configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        var databases = storage.Databases(connectionString);
        foreach (var (name, databaseConnection) in databases)
        {
            silo.AddAdoNetGrainStorage(ShardedGrainStorage.ProviderName(name), optionsBuilder =>
            {
                optionsBuilder.Configure(options =>
                {
                    options.Invariant = PostgresOptions.Invariant;
                    options.ConnectionString = databaseConnection;
                });

                // Orleans' own serializer is version tolerant through [Id] and [Alias]: state survives renames
                // and moves of its types, which the default JSON with embedded .NET type names does not.
                optionsBuilder.Configure<Serializer>((options, serializer) =>
                    options.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer));
            });
        }

        silo.Services.AddSingleton(sp => new MediaServiceId(sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId));
        silo.Services.AddGrainStorage(StorageNames.Media, (sp, _) => ActivatorUtilities.CreateInstance<ShardedGrainStorage>(sp));

        silo.UseAdoNetReminderService(options =>
        {
            options.Invariant = PostgresOptions.Invariant;
            options.ConnectionString = connectionString;
        });

        silo.Services.AddMediaDataPlane(configuration);
        silo.Services.AddMediaProcessing(configuration);
        silo.Services.AddOptions<MetadataOptions>().Bind(configuration.GetSection(MetadataOptions.Section)).ValidateDataAnnotations()
            .Validate<IOptions<ReminderOptions>>((o, r) => o.IndexRetryPeriod >= r.Value.MinimumReminderPeriod,
                "Metadata:IndexRetryPeriod is shorter than Orleans' minimum reminder period (Reminders:MinimumReminderPeriod).")
            .ValidateOnStart();
        silo.Services.AddOptions<DataPlane.Webhooks.WebhookOptions>().Bind(configuration.GetSection(DataPlane.Webhooks.WebhookOptions.Section)).ValidateDataAnnotations()
            .Validate<IOptions<ReminderOptions>>((o, r) => o.ReminderPeriod >= r.Value.MinimumReminderPeriod,
                "Webhooks:ReminderPeriod is shorter than Orleans' minimum reminder period (Reminders:MinimumReminderPeriod).")
            .ValidateOnStart();
        silo.Services.AddSingleton<DataPlane.Webhooks.WebhookQueue>();
        silo.Services.AddSingleton<DataPlane.Webhooks.IEventHandOff>(sp => sp.GetRequiredService<DataPlane.Webhooks.WebhookQueue>());
        silo.Services.AddSingleton<DataPlane.Webhooks.WebhookDeliveries>();
        silo.Services.AddSingleton<Grains.Webhooks.WebhookSender>();
        silo.Services.AddOptions<ProcessingOptions>()
            .Validate<IOptions<ReminderOptions>>((o, r) => o.ReminderPeriod >= r.Value.MinimumReminderPeriod,
                "Processing:ReminderPeriod is shorter than Orleans' minimum reminder period (Reminders:MinimumReminderPeriod).");
        // Orleans refuses reminders more frequent than this (default 1 min); tests lower it to see catch-ups quickly. Not
        // under "Orleans:": Orleans reads Orleans:Reminders as its provider's configuration and stops a silo host that has it.
        silo.Configure<ReminderOptions>(configuration.GetSection("Reminders"));
        silo.Services.AddSingleton(TimeProvider.System);

        // Operators: how fast a silo that stops answering is declared dead (Orleans:Membership: ProbeTimeout,
        // NumMissedProbesLimit, NumVotesForDeathDeclaration, ...), traces across grain calls, and each silo's load.
        silo.Configure<ClusterMembershipOptions>(configuration.GetSection("Orleans:Membership"));
        silo.AddActivityPropagation();
        silo.AddGrainService<SiloLoadService>();
        silo.Services.AddSingleton<ISiloLoadClient, SiloLoadClient>();
        silo.Services.AddSingleton<SiloPeers>();
        return silo;
    }
}
