using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace MediaService.IntegrationTests.Infrastructure;

/// <summary>
/// A real silo process (<c>dotnet Silo.dll</c> from the solution's build output) on ports of its own, on the test
/// PostgreSQL and S3 server: the silo as operators run it, stopped with SIGTERM (a drain) or SIGKILL (a crash).
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _log;

    private SiloProcess(Process process, string log, int siloPort, int httpPort)
    {
        _process = process;
        _log = log;
        SiloPort = siloPort;
        HttpPort = httpPort;
    }

    /// <summary>The silo-to-silo port: the silo's address in the membership table is 127.0.0.1:SiloPort.</summary>
    public int SiloPort { get; }

    /// <summary>The silo's HTTP port (/metrics, /health/ready).</summary>
    public int HttpPort { get; }

    /// <summary>The process id.</summary>
    public int Pid => _process.Id;

    /// <summary>True once the process has exited.</summary>
    public bool Exited => _process.HasExited;

    /// <summary>The silo's HTTP port as a client.</summary>
    public HttpClient Http() => new() { BaseAddress = new Uri($"http://127.0.0.1:{HttpPort}"), Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>Starts a silo of the cluster and waits until it is an active member.</summary>
    public static async Task<SiloProcess> StartAsync(string clusterId, string serviceId, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var settings = TestEnvironment.Settings(clusterId, serviceId);
        var (siloPort, gatewayPort, httpPort) = (FreePort(), FreePort(), FreePort());
        settings["Silo:SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Silo:GatewayPort"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Silo:HttpPort"] = httpPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Logging:LogLevel:Orleans"] = "Warning";
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var log = Path.Combine(Path.GetTempPath(), $"silo-{serviceId}-{siloPort}.log");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = SiloFolder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("Silo.dll");
        foreach (var (key, value) in settings.Where(s => s.Value is not null))
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        var process = Process.Start(start)!;
        var writer = TextWriter.Synchronized(new StreamWriter(log) { AutoFlush = true });
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) writer.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) writer.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var silo = new SiloProcess(process, log, siloPort, httpPort);
        using var http = silo.Http();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The silo exited with {process.ExitCode} at start-up:\n{silo.LogTail()}");
            }

            try
            {
                using var ready = await http.GetAsync("/health/ready");
                if (ready.IsSuccessStatusCode)
                {
                    return silo;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        await silo.DisposeAsync();
        throw new TimeoutException($"The silo did not become ready in 90 s:\n{silo.LogTail()}");
    }

    /// <summary>SIGTERM, as an orchestrator scales in: returns the exit code once the silo has drained and exited.</summary>
    public async Task<int> TerminateAsync(TimeSpan within)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(within);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: the silo dies without a word to the cluster.</summary>
    public async Task CrashAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>The last lines the silo logged, for failure messages.</summary>
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

    // The build output of the Silo project of the same configuration as this test assembly.
    private static string SiloFolder
    {
        get
        {
            var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var (framework, configuration) = (here.Name, here.Parent!.Name);
            var root = here;
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "Orleans.sln")))
            {
                root = root.Parent;
            }

            var folder = Path.Combine(root?.FullName ?? throw new InvalidOperationException("Orleans.sln not found above the tests."), "Silo", "bin", configuration, framework);
            return File.Exists(Path.Combine(folder, "Silo.dll"))
                ? folder
                : throw new InvalidOperationException($"{folder}/Silo.dll is missing: build the solution first (./test.sh does).");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
