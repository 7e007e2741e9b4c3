using System.Net;
using MediaService.ApiFrontend.Limits;
using Microsoft.Extensions.Options;

namespace MediaService.UnitTests;

public sealed class AddressThrottleTests
{
    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static (AddressThrottle Throttle, Clock Clock) Make(int maxAddresses = 100)
    {
        var clock = new Clock();
        var options = new RateLimitOptions
        {
            FailedAuthPerAddress = new RateRule { PerSecond = 1, Burst = 3 },
            AnonymousPerAddress = new RateRule { PerSecond = 10, Burst = 5 },
            MaxTrackedAddresses = maxAddresses,
        };
        return (new AddressThrottle(Options.Create(options), clock), clock);
    }

    [Fact]
    public void FailuresAreCountedPerAddressAndRefill()
    {
        var (throttle, clock) = Make();
        var a = IPAddress.Parse("10.0.0.1");
        var b = IPAddress.Parse("10.0.0.2");

        for (var i = 0; i < 3; i++)
        {
            Assert.True(throttle.MayFail(a, out _));
            throttle.Failed(a);
        }

        Assert.False(throttle.MayFail(a, out var wait));
        Assert.Equal(TimeSpan.FromSeconds(1), wait);
        Assert.True(throttle.MayFail(b, out _)); // another address is untouched
        clock.Now += TimeSpan.FromSeconds(1);
        Assert.True(throttle.MayFail(a, out _));
    }

    [Theory]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::")]
    [InlineData("::ffff:10.0.0.7", "10.0.0.7")]
    [InlineData("10.0.0.7", "10.0.0.7")]
    public void AClientIsAnIPv4AddressOrAnIPv6Slash64(string address, string client)
    {
        Assert.Equal(IPAddress.Parse(client), AddressThrottle.ClientOf(IPAddress.Parse(address)));
    }

    [Fact]
    public void AnonymousRequestsHaveABucketOfTheirOwn()
    {
        var (throttle, _) = Make();
        var a = IPAddress.Parse("10.0.0.1");

        Assert.All(Enumerable.Range(0, 5), i => Assert.True(throttle.Anonymous(a, out _)));
        Assert.False(throttle.Anonymous(a, out _));
        Assert.True(throttle.MayFail(a, out _));
    }

    [Fact]
    public void PastTheBoundNewAddressesShareOneBucketAndFullBucketsAreForgotten()
    {
        var (throttle, clock) = Make(maxAddresses: 100);
        for (var i = 0; i < 100; i++)
        {
            throttle.Failed(new IPAddress([10, 1, (byte)(i / 256), (byte)i]));
        }

        // 100 tracked, none full: newcomers share a bucket (3 failures for all of them together).
        for (var i = 0; i < 3; i++)
        {
            throttle.Failed(new IPAddress([10, 2, 0, (byte)i]));
        }

        Assert.Equal(101, throttle.Tracked);
        Assert.False(throttle.MayFail(new IPAddress([10, 3, 0, 1]), out _)); // a fourth newcomer finds the shared bucket spent
        Assert.True(throttle.MayFail(new IPAddress([10, 1, 0, 7]), out _)); // a tracked address keeps its own

        // Once their buckets have refilled, the old addresses are forgotten and new ones tracked again.
        clock.Now += TimeSpan.FromSeconds(10);
        throttle.Failed(new IPAddress([10, 5, 0, 1]));
        Assert.True(throttle.Tracked < 10, $"{throttle.Tracked} tracked");
    }
}
