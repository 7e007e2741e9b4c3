using System.Net;
using MediaService.DataPlane.Webhooks;

namespace MediaService.UnitTests;

/// <summary>Which webhook targets are refused (SSRF): every internal address range, in both families.</summary>
public sealed class WebhookTargetsTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.255.0.9")]
    [InlineData("10.1.2.3")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("192.0.2.10")]
    [InlineData("198.18.0.1")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("fe80::1")]
    [InlineData("fd00::1")]
    [InlineData("fc00::1")]
    [InlineData("ff02::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("64:ff9b::a00:1")]
    [InlineData("2001:db8::1")]
    [InlineData("::127.0.0.1")]
    [InlineData("::a9fe:a9fe")]
    [InlineData("2002:a00:1::1")]
    [InlineData("2002:c0a8:101::1")]
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2")]
    public void InternalAddressesAreRefused(string address) => Assert.NotNull(WebhookTargets.Refusal(IPAddress.Parse(address)));

    [Theory]
    [InlineData("93.184.215.14")]
    [InlineData("8.8.8.8")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("2606:4700::6810:84e5")]
    [InlineData("::ffff:8.8.8.8")]
    [InlineData("64:ff9b::808:808")]
    [InlineData("2002:808:808::1")]
    public void PublicAddressesAreTargets(string address) => Assert.Null(WebhookTargets.Refusal(IPAddress.Parse(address)));

    [Theory]
    [InlineData("https://hooks.example.com/media", true)]
    [InlineData("http://hooks.example.com:8080/x?y=1", true)]
    [InlineData("ftp://hooks.example.com/", false)]
    [InlineData("https://user:pass@hooks.example.com/", false)]
    [InlineData("https://hooks.example.com/#frag", false)]
    [InlineData("/relative", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void OnlyAbsoluteHttpUrlsWithoutCredentialsAreTargets(string? url, bool accepted) =>
        Assert.Equal(accepted, WebhookTargets.Parse(url).Error is null);

    [Fact]
    public async Task ANameThatResolvesToLoopbackIsRefusedUnlessPrivateTargetsAreAllowed()
    {
        var url = new Uri("http://localhost:9/hook");

        Assert.Contains("loopback", await WebhookTargets.CheckHostAsync(url, allowPrivate: false, TimeSpan.FromSeconds(5), default));
        Assert.Null(await WebhookTargets.CheckHostAsync(url, allowPrivate: true, TimeSpan.FromSeconds(5), default));
    }

    [Fact]
    public async Task ANameTheResolverWillNotTakeIsRefusedNotThrown()
    {
        // Labels of 60 characters, 300 in all: Uri takes it, the resolver refuses names over 255.
        var url = new Uri($"http://{string.Join('.', Enumerable.Repeat(new string('a', 60), 5))}/hook");

        Assert.Contains("does not resolve", await WebhookTargets.CheckHostAsync(url, allowPrivate: false, TimeSpan.FromSeconds(5), default));
    }

    [Fact]
    public void SecretsHaveTheStandardWebhooksForm()
    {
        var secret = WebhookTargets.NewSecret();

        Assert.StartsWith("whsec_", secret);
        Assert.Equal(32, Convert.FromBase64String(secret["whsec_".Length..]).Length);
        Assert.NotEqual(secret, WebhookTargets.NewSecret());
    }
}
