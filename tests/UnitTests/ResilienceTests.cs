using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;
using Microsoft.Extensions.DependencyInjection;
using MediaService.DataPlane;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace MediaService.UnitTests;

public sealed class ResilienceTests
{
    public static TheoryData<Exception, bool> S3Failures => new()
    {
        { new HttpRequestException("refused", new SocketException((int)SocketError.ConnectionRefused)), true },
        { new IOException("reset"), true },
        { new TimeoutRejectedException(), true },
        { new AmazonS3Exception("boom", ErrorType.Receiver, "InternalError", "r", HttpStatusCode.InternalServerError), true },
        { new AmazonS3Exception("slow down", ErrorType.Receiver, "SlowDown", "r", HttpStatusCode.ServiceUnavailable), true },
        { new AmazonS3Exception("missing", ErrorType.Sender, "NoSuchKey", "r", HttpStatusCode.NotFound), false },
        { new AmazonS3Exception("denied", ErrorType.Sender, "AccessDenied", "r", HttpStatusCode.Forbidden), false },
        { new AmazonClientException("network", new HttpRequestException("down")), true },
        { new OperationCanceledException(), false },
        { new InvalidOperationException(), false },

        // A streamed part whose client went away says nothing about S3.
        { new PartSourceException(new IOException("client reset")), false },
    };

    [Theory]
    [MemberData(nameof(S3Failures))]
    public void OnlyNetworkTimeoutAndServerFailuresOfS3AreTransient(Exception exception, bool transient)
    {
        Assert.Equal(transient, Resilience.IsTransientS3(exception));
    }

    // Streamed parts wait for their client as long as it keeps the minimum rate: they run without the per-attempt
    // timeout (Polly applies none for an infinite one), which every other call keeps.
    [Fact]
    public async Task AnInfiniteAttemptTimeoutLetsACallOutlastTheConfiguredOneWhichStillAppliesToOtherCalls()
    {
        await using var provider = S3Pipelines.Build(o => (o.AttemptTimeout, o.MaxRetries) = (TimeSpan.FromSeconds(1), 0));
        var pipeline = S3Pipelines.Of(provider);

        async Task<bool> RunAsync(TimeSpan? attemptTimeout)
        {
            var context = Polly.ResilienceContextPool.Shared.Get();
            if (attemptTimeout is { } timeout)
            {
                context.Properties.Set(Resilience.AttemptTimeout, timeout);
            }

            try
            {
                return await pipeline.ExecuteAsync(async ctx => { await Task.Delay(TimeSpan.FromSeconds(1.5), ctx.CancellationToken); return true; }, context);
            }
            finally
            {
                Polly.ResilienceContextPool.Shared.Return(context);
            }
        }

        Assert.True(await RunAsync(Timeout.InfiniteTimeSpan));
        await Assert.ThrowsAsync<TimeoutRejectedException>(() => RunAsync(null));
    }

    [Fact]
    public void AnOpenCircuitMeansTheStoreIsUnavailable()
    {
        Assert.True(Resilience.IsUnavailable(new BrokenCircuitException()));
        Assert.False(Resilience.IsUnavailable(new AmazonS3Exception("missing", ErrorType.Sender, "NoSuchKey", "r", HttpStatusCode.NotFound)));
    }
}

public sealed class CircuitStateMetricTests
{
    [Fact]
    public async Task TheBreakerStateGaugeShowsTheS3CircuitOpeningAfterTransientFailures()
    {
        await using var provider = S3Pipelines.Build(o =>
        {
            o.MaxRetries = 0;
            o.BreakerMinimumThroughput = 2;
            o.BreakerFailureRatio = 0.5;
            o.BreakerBreakDuration = TimeSpan.FromMinutes(1);
        });
        var pipeline = S3Pipelines.Of(provider);

        var states = new Dictionary<string, int>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "media.circuit.state")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((_, value, tags, _) => states[(string)tags.ToArray().Single(t => t.Key == "pipeline").Value!] = value);
        listener.Start();

        listener.RecordObservableInstruments();
        Assert.Equal((int)CircuitState.Closed, states[Resilience.S3]);

        for (var i = 0; i < 2; i++)
        {
            await Assert.ThrowsAsync<IOException>(() => pipeline.RunAsync<bool>(idempotent: true, _ => throw new IOException("reset"), CancellationToken.None));
        }

        listener.RecordObservableInstruments();
        Assert.Equal((int)CircuitState.Open, states[Resilience.S3]);
        await Assert.ThrowsAsync<BrokenCircuitException>(() => pipeline.RunAsync(idempotent: true, _ => Task.FromResult(true), CancellationToken.None));
    }
}

/// <summary>The service's resilience pipelines with S3 options of a test's choosing.</summary>
internal static class S3Pipelines
{
    public static ServiceProvider Build(Action<S3Options> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddOptions<S3Options>().Configure(configure);
        services.AddOptions<PostgresOptions>();
        services.AddMediaResilience();
        return services.BuildServiceProvider();
    }

    public static Polly.ResiliencePipeline Of(ServiceProvider provider) =>
        provider.GetRequiredService<Polly.Registry.ResiliencePipelineProvider<string>>().GetPipeline(Resilience.S3);
}
