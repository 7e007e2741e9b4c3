using System.Text;
using MediaService.DataPlane.Webhooks;

namespace MediaService.UnitTests;

/// <summary>The Standard Webhooks signature: the scheme's own example, rotation, and what must not verify.</summary>
public sealed class WebhookSignatureTests
{
    // The example of the Standard Webhooks specification and its libraries.
    private const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string Id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const long Timestamp = 1614265330;
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("{\"test\": 2432232314}");

    [Fact]
    public void TheSpecificationsExampleIsSignedAsItSays() =>
        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", WebhookSignature.Sign([Secret], Id, Timestamp, Body));

    [Fact]
    public void DuringARotationBothSecretsSignAndEitherVerifies()
    {
        var next = "whsec_" + Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

        var header = WebhookSignature.Sign([next, Secret], Id, Timestamp, Body);

        Assert.Equal(2, header.Split(' ').Length);
        Assert.True(WebhookSignature.Verify(Secret, Id, Timestamp, Body, header));
        Assert.True(WebhookSignature.Verify(next, Id, Timestamp, Body, header));
    }

    [Theory]
    [InlineData("msg_other", Timestamp, "{\"test\": 2432232314}")]
    [InlineData(Id, Timestamp + 1, "{\"test\": 2432232314}")]
    [InlineData(Id, Timestamp, "{\"test\": 2432232315}")]
    public void AnyChangeOfIdTimestampOrBodyFailsVerification(string id, long timestamp, string body)
    {
        var header = WebhookSignature.Sign([Secret], Id, Timestamp, Body);

        Assert.False(WebhookSignature.Verify(Secret, id, timestamp, Encoding.UTF8.GetBytes(body), header));
    }

    [Theory]
    [InlineData("")]
    [InlineData("v1,")]
    [InlineData("v1,not base64!")]
    [InlineData("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")]
    public void MalformedSignaturesDoNotVerify(string header) => Assert.False(WebhookSignature.Verify(Secret, Id, Timestamp, Body, header));
}
