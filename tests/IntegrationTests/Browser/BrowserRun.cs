using System.Diagnostics;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests.Browser;

/// <summary>
/// Runs a browser script (a node script of this folder driving Debian's Chromium through playwright-core, both pinned
/// in web/package-lock.json and installed by web/install.sh) and returns the JSON report it prints. We drive the browser
/// from node rather than with Microsoft.Playwright: playwright-core is a 9 MB npm package that runs on the node the
/// project already needs and downloads nothing, where the NuGet package carries 786 MB of node builds for five
/// platforms into every build of this project.
/// </summary>
public static class BrowserRun
{
    /// <summary>Debian's Chromium, installed by scripts/env.sh.</summary>
    public const string Chromium = "/usr/bin/chromium";

    /// <summary>Where screenshots are kept (.data is git-ignored); made when missing.</summary>
    public static string ArtifactsFolder()
    {
        var folder = Path.Combine(ServiceProcess.RepositoryRoot, ".data", "test-artifacts", "browser");
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>Runs <paramref name="script"/> with <paramref name="config"/> (written to a file; the script also gets the
    /// web folder and Chromium's path) and returns its report, its log lines and its exit code.</summary>
    public static async Task<(JsonElement Report, string Log, int ExitCode)> RunAsync(string script, Dictionary<string, object?> config, TimeSpan timeout)
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: scripts/env.sh installs Debian's chromium.");
        var web = Path.Combine(ServiceProcess.RepositoryRoot, "web");
        Assert.True(Directory.Exists(Path.Combine(web, "node_modules", "playwright-core")), "playwright-core is missing: run web/install.sh.");
        config["webFolder"] = web;
        config["chromium"] = Chromium;
        var configFile = Path.Combine(Path.GetTempPath(), $"browser-run-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(configFile, JsonSerializer.Serialize(config));
        try
        {
            var start = new ProcessStartInfo("node")
            {
                ArgumentList = { Path.Combine(ServiceProcess.RepositoryRoot, "tests", "IntegrationTests", "Browser", script), configFile },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cancel = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{script} did not finish within {timeout}: {await stderr}");
            }

            var output = (await stdout).Trim();
            var log = await stderr;
            Assert.False(string.IsNullOrEmpty(output), $"{script} printed no report (exit {process.ExitCode}): {log}");
            return (JsonDocument.Parse(output.Split('\n')[^1]).RootElement, log, process.ExitCode);
        }
        finally
        {
            File.Delete(configFile);
        }
    }
}
