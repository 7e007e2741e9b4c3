using System.Diagnostics;
using System.Text.Json;

namespace MediaService.IntegrationTests.Infrastructure;

/// <summary>
/// Checks Standard Webhooks signatures with npm's standardwebhooks (pinned in tools/webhooks): an implementation of the
/// scheme written elsewhere, as a receiver would run it.
/// </summary>
public static class WebhookVerifier
{
    /// <summary>"ok" or "refused: why" for each (secret, id, timestamp, signature, body).</summary>
    public static async Task<string[]> VerifyAsync(IEnumerable<(string Secret, string Id, long Timestamp, string Signature, string Body)> messages)
    {
        var start = new ProcessStartInfo("node")
        {
            ArgumentList = { Path.Combine(ServiceProcess.RepositoryRoot, "tools", "webhooks", "verify.mjs") },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        foreach (var m in messages)
        {
            await process.StandardInput.WriteLineAsync(JsonSerializer.Serialize(new { secret = m.Secret, id = m.Id, timestamp = m.Timestamp, signature = m.Signature, body = m.Body }));
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"the verifier failed: {await errors}");
        return (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Verifies what a receiver got with one secret.</summary>
    public static Task<string[]> VerifyAsync(IEnumerable<ReceivedWebhook> received, string secret) =>
        VerifyAsync(received.Select(r => (secret, r.Id, long.Parse(r.Timestamp, System.Globalization.CultureInfo.InvariantCulture), r.Signature, r.Body)));
}
