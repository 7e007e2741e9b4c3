using System.Diagnostics;
using System.Globalization;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests.Faults;

/// <summary>
/// A whole deployment of its own for the fault suite, made of real processes started by the project's own scripts:
/// PostgreSQL and s3rver (<c>scripts/env.sh</c>, in a folder and on ports of their own, so that stopping or hanging them
/// touches no other test), a TCP relay in front of S3 (to refuse connections and reset single requests), silo and
/// frontend processes, and nginx in front of the frontends (<c>scripts/lb.sh</c>). Clients go through nginx.
/// </summary>
public sealed class FaultStack : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("media-faults-").FullName;
    private readonly Dictionary<string, string> _env;
    private readonly List<SiloProcess> _silos = [];
    private readonly FrontendSlot[] _frontends;
    private readonly Dictionary<string, string?> _settings;
    private readonly int _lbPort = ServiceProcess.FreePort();

    private FaultStack(int frontends, IReadOnlyDictionary<string, string?> settings, bool shardCluster)
    {
        var (pg, s3) = (ServiceProcess.FreePort(), ServiceProcess.FreePort());
        var shardPort = shardCluster ? ServiceProcess.FreePort() : pg;
        _env = new Dictionary<string, string>
        {
            ["MEDIA_ENV_DIR"] = _dir,
            ["PG_PORT"] = pg.ToString(CultureInfo.InvariantCulture),
            ["S3_PORT"] = s3.ToString(CultureInfo.InvariantCulture),
            ["PG_DB"] = "media_faults",
            ["S3_BUCKET"] = "media-faults",
            // Durable, unlike the other tests' database: this one is crashed (pg_ctl -m immediate), and a commit it
            // acknowledged must survive that, as on a real server.
            ["PG_EXTRA_CONF"] = "",
            // Sharded, as ./run.sh is: a second database for half of the logical shards, in the same PostgreSQL or
            // (shardCluster) in a second one of its own, which can be stopped alone.
            ["PG_SHARD_DBS"] = "media_faults_s1",
        };
        if (shardCluster)
        {
            _env["SHARD_PG_PORT"] = shardPort.ToString(CultureInfo.InvariantCulture);
        }

        var user = Environment.UserName == "root" ? "postgres" : Environment.UserName;
        ConnectionString = $"Host=127.0.0.1;Port={pg};Database=media_faults;Username={user};Maximum Pool Size=50;Timeout=3";
        ShardConnectionString = $"Host=127.0.0.1;Port={shardPort};Database=media_faults_s1;Username={user};Maximum Pool Size=50;Timeout=3";
        S3Url = new Uri($"http://127.0.0.1:{s3}");
        Relay = new TcpProxy(S3Url);
        ServiceId = $"media-faults-{Guid.NewGuid():N}";
        ClusterId = $"faults-{Guid.NewGuid():N}";
        var keys = Path.Combine(_dir, "keys");
        Directory.CreateDirectory(keys);
        _settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Media"] = ConnectionString,
            ["Storage:Shards:db0"] = ConnectionString,
            ["Storage:Shards:db1"] = ShardConnectionString,
            ["Orleans:ClusterId"] = ClusterId,
            ["Orleans:ServiceId"] = ServiceId,
            ["S3:ServiceUrl"] = Relay.Address.ToString().TrimEnd('/'),
            ["S3:Bucket"] = "media-faults",
            ["Auth:BootstrapAdminKeyFile"] = Path.Combine(keys, "admin-api-key"),
            ["Auth:BootstrapUserKeyFile"] = Path.Combine(keys, "dev-api-key"),
            // A killed silo is declared dead within a few seconds (production defaults take longer).
            ["Orleans:Membership:ProbeTimeout"] = "00:00:01",
            ["Orleans:Membership:NumMissedProbesLimit"] = "2",
            ["Orleans:Membership:NumVotesForDeathDeclaration"] = "1",
            ["Logging:LogLevel:Orleans"] = "Warning",
            ["Logging:Console:TimestampFormat"] = "HH:mm:ss.fff ",
        };
        foreach (var (key, value) in settings)
        {
            _settings[key] = value;
        }

        _frontends = [.. Enumerable.Range(0, frontends).Select(_ => new FrontendSlot(ServiceProcess.FreePort()))];
    }

    /// <summary>The service's key of the owner <c>dev</c>.</summary>
    public string UserKey { get; private set; } = "";

    /// <summary>The service's admin key.</summary>
    public string AdminKey { get; private set; } = "";

    public string ConnectionString { get; }

    /// <summary>The second storage database (db1; db0 is the control database).</summary>
    public string ShardConnectionString { get; }

    public Uri S3Url { get; }

    /// <summary>The relay every silo and frontend reaches S3 through.</summary>
    public TcpProxy Relay { get; }

    public string ServiceId { get; }

    public string ClusterId { get; }

    /// <summary>Where clients go: nginx, round robin over the frontends.</summary>
    public Uri Entry => new($"http://127.0.0.1:{_lbPort}");

    public IReadOnlyList<SiloProcess> Silos => _silos;

    public int FrontendCount => _frontends.Length;

    /// <summary>Starts everything: PostgreSQL and S3, <paramref name="silos"/> silos, <paramref name="frontends"/>
    /// frontends and nginx.</summary>
    public static async Task<FaultStack> StartAsync(int silos, int frontends, IReadOnlyDictionary<string, string?> settings, bool shardCluster = false)
    {
        var stack = new FaultStack(frontends, settings, shardCluster);
        try
        {
            await stack.ScriptAsync("scripts/env.sh", "start");
            for (var i = 0; i < silos; i++)
            {
                await stack.AddSiloAsync();
            }

            for (var i = 0; i < frontends; i++)
            {
                await stack.StartFrontendAsync(i);
            }

            stack.UserKey = (await File.ReadAllTextAsync(stack._settings["Auth:BootstrapUserKeyFile"]!)).Trim();
            stack.AdminKey = (await File.ReadAllTextAsync(stack._settings["Auth:BootstrapAdminKeyFile"]!)).Trim();
            await stack.ScriptAsync("scripts/lb.sh", ["start", Path.Combine(stack._dir, "lb"), stack._lbPort.ToString(CultureInfo.InvariantCulture),
                .. stack._frontends.Select(f => f.Port.ToString(CultureInfo.InvariantCulture))]);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>A client of the entry point with the user's key.</summary>
    public HttpClient Client(TimeSpan? timeout = null)
    {
        var http = new HttpClient { BaseAddress = Entry, Timeout = timeout ?? TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", UserKey);
        return http;
    }

    public async Task<SiloProcess> AddSiloAsync()
    {
        var silo = await SiloProcess.StartAsync(ClusterId, ServiceId, _settings);
        lock (_silos)
        {
            _silos.Add(silo);
        }

        return silo;
    }

    /// <summary>SIGKILLs a silo and starts another in its place.</summary>
    public async Task KillSiloAsync(int index)
    {
        SiloProcess victim;
        lock (_silos)
        {
            victim = _silos[index % _silos.Count];
            _silos.Remove(victim);
        }

        await victim.CrashAsync();
        await victim.DisposeAsync();
        await AddSiloAsync();
    }

    /// <summary>The index of a frontend streaming an upload right now (by its <c>media_appends_active</c> gauge), else a random one.</summary>
    public async Task<int> BusyFrontendAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var i = 0; i < _frontends.Length; i++)
        {
            try
            {
                var metrics = await http.GetStringAsync($"http://127.0.0.1:{_frontends[i].Port}/metrics");
                var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith("media_appends_active", StringComparison.Ordinal));
                if (line is not null && double.TryParse(line[(line.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var active) && active > 0)
                {
                    return i;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }
        }

        return Random.Shared.Next(_frontends.Length);
    }

    /// <summary>SIGKILLs a frontend (requests in flight die with it) and starts it again on the same port.</summary>
    public async Task KillFrontendAsync(int index)
    {
        var slot = _frontends[index];
        await slot.Process!.CrashAsync();
        await slot.Process.DisposeAsync();
        await StartFrontendAsync(index);
    }

    /// <summary>PostgreSQL stopped at once (as a crash would), for <paramref name="outage"/>, then started again.</summary>
    public async Task PostgresDownAsync(TimeSpan outage)
    {
        await PostgresStopAsync();
        await Task.Delay(outage);
        await PostgresStartAsync();
    }

    public Task PostgresStopAsync() => ScriptAsync("scripts/env.sh", "pg-kill");

    public Task PostgresStartAsync() => ScriptAsync("scripts/env.sh", "pg-start");

    /// <summary>Stops the second PostgreSQL (shardCluster) at once, as a crash would.</summary>
    public Task ShardPostgresStopAsync() => ScriptAsync("scripts/env.sh", "pg-kill", "shard");

    public Task ShardPostgresStartAsync() => ScriptAsync("scripts/env.sh", "pg-start", "shard");

    /// <summary>S3 hung (s3rver stopped with SIGSTOP: connections are accepted, nothing is answered) for <paramref name="outage"/>.</summary>
    public async Task S3HungAsync(TimeSpan outage)
    {
        await S3PauseAsync();
        try
        {
            await Task.Delay(outage);
        }
        finally
        {
            await S3ResumeAsync();
        }
    }

    public Task S3PauseAsync() => ScriptAsync("scripts/env.sh", "s3-pause");

    public Task S3ResumeAsync() => ScriptAsync("scripts/env.sh", "s3-resume");

    /// <summary>S3 refusing connections (open ones reset) for <paramref name="outage"/>.</summary>
    public async Task S3RefusingAsync(TimeSpan outage)
    {
        Relay.Cut();
        await Task.Delay(outage);
        Relay.Restore();
    }

    /// <summary>Every object key in the bucket.</summary>
    public async Task<IReadOnlyList<string>> ObjectKeysAsync()
    {
        using var s3 = MediaService.DataPlane.DataPlaneServiceCollectionExtensions.CreateClient(new MediaService.DataPlane.S3Options
        {
            ServiceUrl = S3Url.ToString(),
            Bucket = "media-faults",
            AccessKey = "S3RVER",
            SecretKey = "S3RVER",
        });
        var keys = new List<string>();
        string? token = null;
        do
        {
            var page = await s3.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = "media-faults", ContinuationToken = token, MaxKeys = 1000 });
            keys.AddRange((page.S3Objects ?? []).Select(o => o.Key));
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);
        return keys;
    }

    /// <summary>Every item of the service as the search index holds it: id and status.</summary>
    public async Task<IReadOnlyDictionary<long, string>> IndexedItemsAsync()
    {
        var items = new Dictionary<long, string>();
        foreach (var (name, connectionString) in new[] { ("db0", ConnectionString), ("db1", ShardConnectionString) })
        {
            await using var data = Npgsql.NpgsqlDataSource.Create(connectionString);
            // Each database answers for the shards the map places on it (a moved shard's leftovers are not its items).
            await using var command = data.CreateCommand(
                "SELECT media_id, status FROM media_index WHERE service_id = @s AND ((media_id >> 16) & 63) = ANY (@shards)");
            command.Parameters.AddWithValue("s", ServiceId);
            command.Parameters.AddWithValue("shards", (await ShardsOnAsync(name)).ToArray());
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                items[reader.GetInt64(0)] = reader.GetString(1);
            }
        }

        return items;
    }

    /// <summary>The logical shards the service's map places on a database.</summary>
    public async Task<IReadOnlyList<int>> ShardsOnAsync(string database)
    {
        await using var data = Npgsql.NpgsqlDataSource.Create(ConnectionString);
        await using var command = data.CreateCommand("SELECT shard FROM shard_map WHERE service_id = @s AND database = @d ORDER BY shard");
        command.Parameters.AddWithValue("s", ServiceId);
        command.Parameters.AddWithValue("d", database);
        var shards = new List<int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            shards.Add(reader.GetInt16(0));
        }

        return shards;
    }

    public async ValueTask DisposeAsync()
    {
        await ScriptQuietlyAsync("scripts/lb.sh", "stop", Path.Combine(_dir, "lb"));
        foreach (var slot in _frontends)
        {
            if (slot.Process is not null)
            {
                await slot.Process.DisposeAsync();
            }
        }

        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        await Relay.DisposeAsync();
        await ScriptQuietlyAsync("scripts/env.sh", "stop");
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private async Task StartFrontendAsync(int index)
    {
        var slot = _frontends[index];
        var port = slot.Port.ToString(CultureInfo.InvariantCulture);
        slot.Process = await ServiceProcess.StartAsync("ApiFrontend", _settings, new Uri($"http://127.0.0.1:{port}/health/ready"),
            $"frontend-{ServiceId}-{port}.log", ["--urls", $"http://127.0.0.1:{port}"]);
    }

    private Task ScriptAsync(string script, params string[] arguments) => RunScriptAsync(script, arguments, quiet: false);

    private async Task ScriptQuietlyAsync(string script, params string[] arguments)
    {
        try
        {
            await RunScriptAsync(script, arguments, quiet: true);
        }
        catch (InvalidOperationException)
        {
        }
    }

    private async Task RunScriptAsync(string script, string[] arguments, bool quiet)
    {
        var start = new ProcessStartInfo(Path.Combine(ServiceProcess.RepositoryRoot, script))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = ServiceProcess.RepositoryRoot,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in _env)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0 && !quiet)
        {
            throw new InvalidOperationException($"{script} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await output}\n{await errors}");
        }
    }

    private sealed class FrontendSlot(int port)
    {
        public int Port { get; } = port;

        public ServiceProcess? Process { get; set; }
    }
}
