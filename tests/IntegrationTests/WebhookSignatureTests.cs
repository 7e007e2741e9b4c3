using System.Diagnostics;
using System.Text;
using System.Text.Json;
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

        var answers = await VerifyAsync(cases.Select(c => JsonSerializer.Serialize(new { secret = c.Secret, id = c.Id, timestamp = c.Timestamp, signature = c.Signature, body = c.Body })));

        for (var i = 0; i < cases.Length; i++)
        {
            Assert.True(cases[i].Accepted == (answers[i] == "ok"), $"case {i}: expected {(cases[i].Accepted ? "ok" : "a refusal")}, the library said '{answers[i]}'");
        }
    }

    private static async Task<string[]> VerifyAsync(IEnumerable<string> lines)
    {
        var start = new ProcessStartInfo("node")
        {
            ArgumentList = { Path.Combine(ServiceProcess.RepositoryRoot, "tools", "webhooks", "verify.mjs") },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        foreach (var line in lines)
        {
            await process.StandardInput.WriteLineAsync(line);
        }

        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"the verifier failed: {await errors}");
        return (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
