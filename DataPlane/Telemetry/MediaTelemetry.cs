using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MediaService.DataPlane.Telemetry;

/// <summary>
/// OpenTelemetry for silos and frontends alike: the service's meter, Orleans', ASP.NET Core's, HttpClient's (the S3
/// calls), Npgsql's, Polly's (S3 and PostgreSQL call latency and breaker events) and the .NET runtime's, exported for
/// Prometheus; traces from HTTP request through grain calls to S3 and PostgreSQL.
/// </summary>
public static class MediaTelemetry
{
    /// <summary>The service's meter.</summary>
    public const string MeterName = "MediaService";

    /// <summary>The service's activity source.</summary>
    public const string ActivitySourceName = "MediaService";

    /// <summary>Activities of the service's own work (processing attempts, index writes).</summary>
    public static readonly ActivitySource Source = new(ActivitySourceName);

    /// <summary>Meters exported besides the service's own.</summary>
    public static readonly string[] Meters = [MeterName, "Microsoft.Orleans", "Polly", "Npgsql"];

    /// <summary>Activity sources traced besides ASP.NET Core's and HttpClient's.</summary>
    public static readonly string[] Sources = [ActivitySourceName, "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application", "Npgsql"];

    /// <summary>Adds the instruments, the metrics and traces pipelines and the exporters.</summary>
    public static IServiceCollection AddMediaTelemetry(this IServiceCollection services, IConfiguration configuration, string serviceName)
    {
        services.AddOptions<TelemetryOptions>().Bind(configuration.GetSection(TelemetryOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        var options = configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();

        var otel = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName, serviceInstanceId: $"{Environment.MachineName}-{Environment.ProcessId}"))
            .WithMetrics(metrics => metrics
                .AddMeter(Meters)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter())
            .WithTracing(tracing => tracing
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(options.TraceSampleRatio)))
                .AddSource(Sources)
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !context.Request.Path.StartsWithSegments(options.MetricsPath))
                .AddHttpClientInstrumentation());
        if (!string.IsNullOrWhiteSpace(options.OtlpEndpoint))
        {
            otel.UseOtlpExporter(OpenTelemetry.Exporter.OtlpExportProtocol.Grpc, new Uri(options.OtlpEndpoint));
        }
        else if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
        {
            otel.UseOtlpExporter();
        }

        return services;
    }

    /// <summary>Maps the Prometheus scraping endpoint (anonymous: keep the port off the public network).</summary>
    public static IEndpointConventionBuilder MapMediaMetrics(this IEndpointRouteBuilder endpoints, IConfiguration configuration)
    {
        var path = configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>()?.MetricsPath ?? "/metrics";
        return endpoints.MapPrometheusScrapingEndpoint(path);
    }
}
