using System.Text;
using MediaService.DataPlane.Webhooks;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests;

/// <summary>
/// The service's webhook signatures checked by an implementation of the scheme written elsewhere: npm's
/// standardwebhooks (pinned in tools/webhooks), as a receiver would check them.
/// </summary>
public sealed class WebhookSignatureTests
{
    [Fact]
    public async Task AnIndependentImplementationAcceptsOurSignaturesAndRefusesTamperedOnes()
    {
        var secret = "whsec_" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var next = "whsec_" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        const string body = "{\"type\":\"media.stored\",\"timestamp\":\"2026-12-01T12:00:00Z\",\"data\":{\"id\":\"4502084102828374\",\"name\":\"été 🎉.jpg\"}}";
        string Signed(params string[] secrets) => WebhookSignature.Sign(secrets, "evt_1", now, Encoding.UTF8.GetBytes(body));
        var cases = new (string Secret, string Id, long Timestamp, string Signature, string Body, bool Accepted)[]
        {
            (secret, "evt_1", now, Signed(secret), body, true),
            // A rotation: both sign, a receiver with either secret accepts.
            (secret, "evt_1", now, Signed(next, secret), body, true),
            (next, "evt_1", now, Signed(next, secret), body, true),
            (next, "evt_1", now, Signed(secret), body, false),
            (secret, "evt_2", now, Signed(secret), body, false),
            (secret, "evt_1", now, Signed(secret), body.Replace("stored", "deleted", StringComparison.Ordinal), false),
        };

        var answers = await WebhookVerifier.VerifyAsync(cases.Select(c => (c.Secret, c.Id, c.Timestamp, c.Signature, c.Body)));

        for (var i = 0; i < cases.Length; i++)
        {
            Assert.True(cases[i].Accepted == (answers[i] == "ok"), $"case {i}: expected {(cases[i].Accepted ? "ok" : "a refusal")}, the library said '{answers[i]}'");
        }
    }
}
