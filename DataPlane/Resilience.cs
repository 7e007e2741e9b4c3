using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace MediaService.DataPlane;

/// <summary>
/// The Polly pipelines that guard every call to S3 and PostgreSQL: retry (only where the call is
/// idempotent) around a circuit breaker around a per-attempt timeout.
/// </summary>
public static class Resilience
{
    /// <summary>Pipeline key for object-store calls.</summary>
    public const string S3 = "s3";

    /// <summary>Pipeline key for the service's own PostgreSQL calls and grain state writes.</summary>
    public const string Postgres = "postgres";

    /// <summary>Set to true on a call's context when repeating the call cannot change the outcome.</summary>
    public static readonly ResiliencePropertyKey<bool> Idempotent = new("media.idempotent");

    /// <summary>Runs a call through a pipeline, marking it idempotent (retried on transient errors) or not.</summary>
    public static async Task<T> RunAsync<T>(this ResiliencePipeline pipeline, bool idempotent, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(Idempotent, idempotent);
        try
        {
            return await pipeline.ExecuteAsync(static async (ctx, state) => await state(ctx.CancellationToken), context, call);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>Registers both pipelines.</summary>
    public static IServiceCollection AddMediaResilience(this IServiceCollection services)
    {
        services.AddSingleton<CircuitStates>();
        services.AddResiliencePipeline(S3, (builder, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<S3Options>>().Value;
            AddRetryAndBreaker(builder, options.MaxRetries, options.RetryBaseDelay, IsTransientS3, new CircuitBreakerStrategyOptions
            {
                FailureRatio = options.BreakerFailureRatio,
                MinimumThroughput = options.BreakerMinimumThroughput,
                SamplingDuration = options.BreakerSamplingDuration,
                BreakDuration = options.BreakerBreakDuration,
                StateProvider = context.ServiceProvider.GetRequiredService<CircuitStates>().Track(S3),
            });
            builder.AddTimeout(new TimeoutStrategyOptions
            {
                TimeoutGenerator = args => ValueTask.FromResult(
                    args.Context.Properties.TryGetValue(AttemptTimeout, out var t) ? t : options.AttemptTimeout),
            });
        });

        AddPostgresPipeline(services, Postgres);
        return services;
    }

    /// <summary>The pipeline key of a storage shard's database: each has its own breaker, so that one database's outage
    /// opens only its own circuit.</summary>
    public static string PostgresFor(string database) => $"{Postgres}:{database}";

    /// <summary>Registers a PostgreSQL pipeline (retries, breaker, per-attempt timeout from <see cref="PostgresOptions"/>)
    /// under <paramref name="key"/>.</summary>
    public static IServiceCollection AddPostgresPipeline(this IServiceCollection services, string key)
    {
        services.AddResiliencePipeline(key, (builder, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<PostgresOptions>>().Value;
            AddRetryAndBreaker(builder, options.MaxRetries, options.RetryBaseDelay, IsTransientPostgres, new CircuitBreakerStrategyOptions
            {
                BreakDuration = options.BreakerBreakDuration,
                StateProvider = context.ServiceProvider.GetRequiredService<CircuitStates>().Track(key),
            });
            builder.AddTimeout(options.AttemptTimeout);
        });
        return services;
    }

    // Retry outermost (only transient failures of calls marked idempotent), then the breaker, which counts
    // every transient failure; the caller adds the per-attempt timeout innermost.
    private static void AddRetryAndBreaker(
        ResiliencePipelineBuilder builder, int maxRetries, TimeSpan baseDelay, Func<Exception, bool> isTransient, CircuitBreakerStrategyOptions breaker)
    {
        if (maxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = maxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = baseDelay,
                ShouldHandle = args => ValueTask.FromResult(
                    IsIdempotent(args.Context) && args.Outcome.Exception is { } ex && isTransient(ex)),
            });
        }

        breaker.ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && isTransient(ex));
        builder.AddCircuitBreaker(breaker);
    }

    /// <summary>Overrides the per-attempt timeout for one call (for example, assembling a large object).</summary>
    public static readonly ResiliencePropertyKey<TimeSpan> AttemptTimeout = new("media.attempt-timeout");

    private static bool IsIdempotent(ResilienceContext context) =>
        context.Properties.TryGetValue(Idempotent, out var idempotent) && idempotent;

    /// <summary>True for failures worth retrying or counting against the S3 circuit: network errors,
    /// timeouts, throttling and server errors; false for answers such as 404 or 403.</summary>
    public static bool IsTransientS3(Exception exception) => exception switch
    {
        AmazonServiceException { StatusCode: >= HttpStatusCode.InternalServerError or HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout } => true,
        AmazonServiceException { InnerException: { } inner } => IsTransientS3(inner),
        AmazonServiceException => false,
        AmazonClientException { InnerException: { } inner } => IsTransientS3(inner),
        AmazonClientException => true,
        HttpRequestException or IOException or SocketException or TimeoutRejectedException => true,
        OperationCanceledException => false,
        _ => false,
    };

    /// <summary>True for PostgreSQL failures worth retrying: lost connections, timeouts, server shutdown.</summary>
    public static bool IsTransientPostgres(Exception exception) => exception switch
    {
        NpgsqlException npgsql => npgsql.IsTransient,
        TimeoutRejectedException or SocketException or IOException => true,
        { InnerException: { } inner } => IsTransientPostgres(inner),
        _ => false,
    };

    /// <summary>True when a PostgreSQL call (of the service or of an Orleans provider) failed because the database did not
    /// answer (lost connection, refused, timed out, the circuit open) rather than because the request was wrong.</summary>
    public static bool IsPostgresUnavailable(Exception exception) => exception switch
    {
        BrokenCircuitException or IsolatedCircuitException or TimeoutRejectedException => true,
        NpgsqlException npgsql when npgsql.IsTransient || npgsql is not PostgresException => true,
        // 55M01: the item's logical shard is fenced in that database (moved away, or being moved): try again later.
        PostgresException postgres => postgres.SqlState.StartsWith("57P", StringComparison.Ordinal) || postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
            || postgres.SqlState == Sharding.ShardSql.Fenced,
        SocketException or IOException => true,
        { InnerException: { } inner } => IsPostgresUnavailable(inner),
        _ => false,
    };

    /// <summary>True when the failure means the store is unavailable rather than that the request was wrong.</summary>
    public static bool IsUnavailable(Exception exception) =>
        exception is BrokenCircuitException or IsolatedCircuitException || IsTransientS3(exception);
}

/// <summary>
/// The state of each pipeline's circuit breaker, exported as the gauge <c>media.circuit.state</c> (0 closed, 1 open,
/// 2 half-open, 3 isolated) with the pipeline's name.
/// </summary>
public sealed class CircuitStates
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, CircuitBreakerStateProvider> _providers = new();

    /// <summary>Creates the gauge on the host's meter factory.</summary>
    public CircuitStates(IMeterFactory meters) =>
        meters.Create(Telemetry.MediaTelemetry.MeterName).CreateObservableGauge("media.circuit.state", Observe, "{state}",
            "Circuit breaker state of the S3 and PostgreSQL pipelines: 0 closed, 1 open, 2 half-open, 3 isolated.");

    /// <summary>A state provider for the breaker of <paramref name="pipeline"/>.</summary>
    public CircuitBreakerStateProvider Track(string pipeline) => _providers[pipeline] = new CircuitBreakerStateProvider();

    /// <summary>The state of a pipeline's breaker (closed when it has not been built yet).</summary>
    public CircuitState State(string pipeline) => _providers.TryGetValue(pipeline, out var provider) ? provider.CircuitState : CircuitState.Closed;

    private IEnumerable<Measurement<int>> Observe() =>
        _providers.Select(p => new Measurement<int>((int)p.Value.CircuitState, new KeyValuePair<string, object?>("pipeline", p.Key)));
}
