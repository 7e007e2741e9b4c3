using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace MediaService.Grains.Processing;

/// <summary>Registers a silo's processing slots.</summary>
public static class ProcessingServiceCollectionExtensions
{
    /// <summary>Options (section <c>Processing</c>, validated at start-up) and the <see cref="MediaProcessor"/>.</summary>
    public static IServiceCollection AddMediaProcessing(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ProcessingOptions>().Bind(configuration.GetSection(ProcessingOptions.Section)).ValidateDataAnnotations()
            .Validate(o => o.MaxRetryDelay >= o.RetryDelay, "Processing:MaxRetryDelay must be at least Processing:RetryDelay.")
            .Validate(o => o.AllowedTypeSet().Count > 0, "Processing:AllowedTypes names no type.")
            .ValidateOnStart();
        services.AddSingleton<MediaProcessor>();
        services.AddSingleton<IProcessingQueue>(sp => sp.GetRequiredService<MediaProcessor>());
        services.AddHostedService(sp => sp.GetRequiredService<MediaProcessor>());
        return services;
    }
}
