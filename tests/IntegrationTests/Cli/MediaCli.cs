using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests.Cli;

/// <summary>The real <c>media</c> command-line client (Cli/, built before the tests by their project reference), run
/// as its own process against a real frontend, with its own state file.</summary>
public sealed class MediaCli(Uri url, string key, string stateFile)
{
    /// <summary>SIGINT, as Ctrl-C sends it.</summary>
    public const int SigInt = 2;

    /// <summary>The state file the runs share.</summary>
    public string StateFile { get; } = stateFile;

    /// <summary>The client's assembly, of the configuration the tests were built in.</summary>
    public static string Assembly()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var dll = Path.Combine(ServiceProcess.RepositoryRoot, "Cli", "bin", configuration, "net10.0", "media.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"The client is not built: {dll}");
    }

    /// <summary>Runs <c>media ARGS</c> to its end (at most 2 min).</summary>
    public async Task<CliResult> RunAsync(params string[] args) => await Start(args).WaitAsync(TimeSpan.FromMinutes(2));

    /// <summary>The same client with another key.</summary>
    public MediaCli WithKey(string badKey) => new(url, badKey, StateFile);

    /// <summary>Starts <c>media ARGS</c>.</summary>
    public CliRun Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add(Assembly());
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["MEDIA_URL"] = url.ToString();
        start.Environment["MEDIA_KEY"] = key;
        start.Environment["MEDIA_STATE_FILE"] = StateFile;
        start.Environment.Remove("MEDIA_CLI_ROOT");
        return new CliRun(Process.Start(start)!, string.Join(' ', args));
    }

    /// <summary>The unfinished uploads the state file holds: the URL of each, by file path.</summary>
    public Dictionary<string, string> Unfinished()
    {
        if (!File.Exists(StateFile))
        {
            return [];
        }

        using var document = JsonDocument.Parse(File.ReadAllBytes(StateFile));
        return document.RootElement.GetProperty("uploads").EnumerateObject()
            .ToDictionary(e => e.Value.GetProperty("path").GetString()!, e => e.Value.GetProperty("url").GetString()!);
    }
}

/// <summary>A running client process.</summary>
public sealed class CliRun : IDisposable
{
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;
    private readonly string _what;

    internal CliRun(Process process, string what)
    {
        Process = process;
        _what = what;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
    }

    public Process Process { get; }

    /// <summary>Sends a signal (SIGINT: as Ctrl-C would).</summary>
    public void Signal(int signal)
    {
        if (Kill(Process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({Process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Waits for the end, killing the process (and failing) past <paramref name="timeout"/>.</summary>
    public async Task<CliResult> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await Process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Process.Kill(entireProcessTree: true);
            throw new TimeoutException($"media {_what} did not end within {timeout}: {await _stderr}");
        }

        return new CliResult(Process.ExitCode, await _stdout, await _stderr);
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }

        Process.Dispose();
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}

/// <summary>How a run ended.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>stdout's lines, each a JSON object.</summary>
    public List<JsonElement> JsonLines() =>
        [.. Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone())];

    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}
