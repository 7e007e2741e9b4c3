namespace MediaService.IntegrationTests.Infrastructure;

/// <summary>
/// A real silo process (<c>dotnet Silo.dll</c> from the solution's build output) on ports of its own, on the test
/// PostgreSQL and S3 server: the silo as operators run it, stopped with SIGTERM (a drain) or SIGKILL (a crash).
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly ServiceProcess _process;

    private SiloProcess(ServiceProcess process, int siloPort, int httpPort)
    {
        _process = process;
        SiloPort = siloPort;
        HttpPort = httpPort;
    }

    /// <summary>The silo-to-silo port: the silo's address in the membership table is 127.0.0.1:SiloPort.</summary>
    public int SiloPort { get; }

    /// <summary>The silo's HTTP port (/metrics, /health/ready).</summary>
    public int HttpPort { get; }

    /// <summary>The process id.</summary>
    public int Pid => _process.Pid;

    /// <summary>True once the process has exited.</summary>
    public bool Exited => _process.Exited;

    /// <summary>The silo's HTTP port as a client.</summary>
    public HttpClient Http() => new() { BaseAddress = new Uri($"http://127.0.0.1:{HttpPort}"), Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>Starts a silo of the cluster and waits until it is an active member.</summary>
    public static async Task<SiloProcess> StartAsync(string clusterId, string serviceId, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var settings = TestEnvironment.Settings(clusterId, serviceId);
        var (siloPort, gatewayPort, httpPort) = (ServiceProcess.FreePort(), ServiceProcess.FreePort(), ServiceProcess.FreePort());
        settings["Silo:SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Silo:GatewayPort"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Silo:HttpPort"] = httpPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Logging:LogLevel:Orleans"] = "Warning";
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var process = await ServiceProcess.StartAsync("Silo", settings, new Uri($"http://127.0.0.1:{httpPort}/health/ready"), $"silo-{serviceId}-{siloPort}.log");
        return new SiloProcess(process, siloPort, httpPort);
    }

    /// <summary>SIGTERM, as an orchestrator scales in: returns the exit code once the silo has drained and exited.</summary>
    public Task<int> TerminateAsync(TimeSpan within) => _process.TerminateAsync(within);

    /// <summary>SIGKILL: the silo dies without a word to the cluster.</summary>
    public Task CrashAsync() => _process.CrashAsync();

    /// <summary>The last lines the silo logged, for failure messages.</summary>
    public string LogTail(int lines = 40) => _process.LogTail(lines);

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
