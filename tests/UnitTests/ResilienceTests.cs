using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;
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
    };

    [Theory]
    [MemberData(nameof(S3Failures))]
    public void OnlyNetworkTimeoutAndServerFailuresOfS3AreTransient(Exception exception, bool transient)
    {
        Assert.Equal(transient, Resilience.IsTransientS3(exception));
    }

    [Fact]
    public void AnOpenCircuitMeansTheStoreIsUnavailable()
    {
        Assert.True(Resilience.IsUnavailable(new BrokenCircuitException()));
        Assert.False(Resilience.IsUnavailable(new AmazonS3Exception("missing", ErrorType.Sender, "NoSuchKey", "r", HttpStatusCode.NotFound)));
    }
}
