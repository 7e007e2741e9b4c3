using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace MediaService.IntegrationTests.Infrastructure;

/// <summary>
/// A real process of the service (<c>dotnet Silo.dll</c> or <c>dotnet ApiFrontend.dll</c> from the solution's build
/// output), started with settings as command-line arguments and ready once its <c>/health/ready</c> answers: the
/// process as operators run it, stopped with SIGTERM or killed with SIGKILL.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _log;

    private ServiceProcess(Process process, string log)
    {
        _process = process;
        _log = log;
    }

    /// <summary>The process id.</summary>
    public int Pid => _process.Id;

    /// <summary>True once the process has exited.</summary>
    public bool Exited => _process.HasExited;

    /// <summary>The exit code, once exited.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>
    /// Starts <paramref name="project"/>'s build output with <paramref name="settings"/> (as <c>--key=value</c>) and
    /// <paramref name="arguments"/>, and waits until <paramref name="ready"/> answers 2xx.
    /// </summary>
    public static async Task<ServiceProcess> StartAsync(
        string project, IReadOnlyDictionary<string, string?> settings, Uri ready, string logName, IEnumerable<string>? arguments = null)
    {
        var log = Path.Combine(Path.GetTempPath(), logName);
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = BuildFolder(project),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add($"{project}.dll");
        // ./test.sh exports the main suite's storage databases (Storage__Shards__*): a process of its own stack must
        // not inherit them, or it would keep items in the main suite's databases.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("Storage__", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        foreach (var argument in arguments ?? [])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in settings.Where(s => s.Value is not null))
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        var process = Process.Start(start)!;
        var writer = TextWriter.Synchronized(new StreamWriter(log, append: true) { AutoFlush = true });
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) writer.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) writer.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var service = new ServiceProcess(process, log);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{project} exited with {process.ExitCode} at start-up:\n{service.LogTail()}");
            }

            try
            {
                using var answer = await http.GetAsync(ready);
                if (answer.IsSuccessStatusCode)
                {
                    return service;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        await service.DisposeAsync();
        throw new TimeoutException($"{project} did not become ready in 90 s:\n{service.LogTail()}");
    }

    /// <summary>SIGTERM, as an orchestrator scales in: returns the exit code once the process has exited.</summary>
    public async Task<int> TerminateAsync(TimeSpan within)
    {
        await SignalAsync("TERM");
        using var cts = new CancellationTokenSource(within);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: the process dies without a word to anyone.</summary>
    public async Task CrashAsync()
    {
        if (!_process.HasExited)
        {
            await SignalAsync("KILL");
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>The last lines the process logged, for failure messages.</summary>
    public string LogTail(int lines = 40)
    {
        try
        {
            using var stream = new FileStream(_log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return string.Join('\n', reader.ReadToEnd().Split('\n').TakeLast(lines));
        }
        catch (IOException)
        {
            return "";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    /// <summary>A port nobody listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The folder holding Orleans.sln.</summary>
    public static string RepositoryRoot
    {
        get
        {
            var root = new DirectoryInfo(AppContext.BaseDirectory);
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "Orleans.sln")))
            {
                root = root.Parent;
            }

            return root?.FullName ?? throw new InvalidOperationException("Orleans.sln not found above the tests.");
        }
    }

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    // The build output of a project of the same configuration as this test assembly.
    private static string BuildFolder(string project)
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var (framework, configuration) = (here.Name, here.Parent!.Name);
        var folder = Path.Combine(RepositoryRoot, project, "bin", configuration, framework);
        return File.Exists(Path.Combine(folder, $"{project}.dll"))
            ? folder
            : throw new InvalidOperationException($"{folder}/{project}.dll is missing: build the solution first (./test.sh does).");
    }
}
