using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace MediaService.IntegrationTests.Faults;

/// <summary>The faults the suite injects.</summary>
public enum FaultKind
{
    /// <summary>SIGKILL of the frontend streaming an upload (found by its appends gauge), started again at once.</summary>
    FrontendKill,

    /// <summary>SIGKILL of a silo, replaced by a new one.</summary>
    SiloKill,

    /// <summary>S3 refusing connections (and resetting open ones) for a few seconds.</summary>
    S3Refusing,

    /// <summary>S3 hung (s3rver SIGSTOPped) for a few seconds.</summary>
    S3Hung,

    /// <summary>S3 failing one request: the connection carrying the next few KiB sent to S3 is reset.</summary>
    S3FailsOneRequest,

    /// <summary>PostgreSQL stopped at once (as a crash), started again after a few seconds.</summary>
    PostgresDown,
}

/// <summary>Where, in the request that carries an upload's last byte, a fault strikes.</summary>
public enum FaultPoint
{
    /// <summary>When half of that request's body has gone out.</summary>
    BeforeLastByte,

    /// <summary>20 ms after the last byte went out.</summary>
    AtLastByte,

    /// <summary>150 ms after the last byte: while the last part is recorded and the object assembled.</summary>
    DuringCompletion,

    /// <summary>1 s after the last byte: typically after the answer.</summary>
    AfterLastByte,
}

/// <summary>One upload of the run, and the fault planned for it (none for the baseline uploads).</summary>
public sealed record PlannedUpload(int Index, UploadKind Kind, int Size, FaultKind? Fault, FaultPoint Point);

/// <summary>What the checker found, per fault kind and in all.</summary>
public sealed record FaultReport(
    IReadOnlyList<(string Fault, int Injected, int Uploads, int ToldComplete, int Lost, int Stuck)> Rows,
    int Uploads, int ToldComplete, int GaveUp, IReadOnlyList<string> Lost, IReadOnlyList<string> Stuck, IReadOnlyList<string> OrphanObjects,
    double BaselineP99Seconds, double FaultedP99Seconds, int Abandoned)
{
    /// <summary>The report as a markdown table with its totals.</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine("| fault | injected | uploads | told complete | lost | stuck |");
        text.AppendLine("|---|---|---|---|---|---|");
        foreach (var row in Rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {row.Fault} | {row.Injected} | {row.Uploads} | {row.ToldComplete} | {row.Lost} | {row.Stuck} |");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"| **all** | {Rows.Sum(r => r.Injected)} | {Uploads} | {ToldComplete} | {Lost.Count} | {Stuck.Count} |");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Gave up (the client's retries ran out; not told complete): {GaveUp}. Objects in S3 that no item accounts for: {OrphanObjects.Count}.");
        text.AppendLine(CultureInfo.InvariantCulture,
            $"Uploads created whose creation answer was lost (no client knows them; they expire by themselves at Tus:Expiry): {Abandoned}.");
        text.AppendLine(CultureInfo.InvariantCulture,
            $"Upload time p99: {BaselineP99Seconds:0.00} s for uploads without a fault of their own (they run beside the faulted ones), " +
            $"{FaultedP99Seconds:0.00} s with one: {Math.Max(0, FaultedP99Seconds - BaselineP99Seconds):0.00} s extra.");
        foreach (var line in Lost.Select(l => $"LOST {l}").Concat(Stuck.Select(s => $"STUCK {s}")).Concat(OrphanObjects.Select(o => $"ORPHAN {o}")))
        {
            text.AppendLine(line);
        }

        return text.ToString();
    }
}

/// <summary>
/// The fault suite's run: uploads of every kind through the load balancer, each with a fault injected at a point of
/// its last request, then the checker: every upload a client was told complete is stored and byte-identical, no item
/// stays receiving or completing, and S3 holds no object that no item accounts for.
/// </summary>
public sealed class FaultRun(FaultStack stack, Action<string> log)
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(3);
    private readonly SemaphoreSlim _oneFaultAtATime = new(1);
    private readonly Dictionary<FaultKind, int> _injected = Enum.GetValues<FaultKind>().ToDictionary(k => k, _ => 0);

    /// <summary>The plan: <paramref name="uploads"/> uploads cycling through the kinds, every sixth one without a fault
    /// (the baseline), the others through every fault at every point.</summary>
    public static IReadOnlyList<PlannedUpload> Plan(int uploads, int seed)
    {
        var random = new Random(seed);
        var kinds = Enum.GetValues<UploadKind>();
        var combos = (from f in Enum.GetValues<FaultKind>() from p in Enum.GetValues<FaultPoint>() select (f, p)).ToArray();
        var planned = new List<PlannedUpload>();
        var next = 0;
        for (var i = 0; i < uploads; i++)
        {
            // Sizes from under one part (a single PUT) to several parts of 5 MiB.
            var size = random.Next(256 * 1024, 18 * 1024 * 1024);
            var baseline = i % 6 == 5;
            var (fault, point) = baseline ? ((FaultKind?)null, FaultPoint.AtLastByte) : combos[next++ % combos.Length];
            planned.Add(new PlannedUpload(i, kinds[i % kinds.Length], size, fault, point));
        }

        return planned;
    }

    public async Task<FaultReport> RunAsync(IReadOnlyList<PlannedUpload> plan, int workers)
    {
        var results = new UploadResult?[plan.Count];
        var queue = new Queue<PlannedUpload>(plan);
        using var http = stack.Client(TimeSpan.FromMinutes(2));
        var clients = new FaultClients(http);
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
        {
            while (true)
            {
                PlannedUpload upload;
                lock (queue)
                {
                    if (!queue.TryDequeue(out upload!))
                    {
                        return;
                    }
                }

                var body = RandomNumberGenerator.GetBytes(upload.Size);
                var fired = 0;
                Task? injected = null;
                if (upload.Fault is not null)
                {
                    // One faulted upload at a time, so that its fault strikes exactly at its point (and not after the
                    // recovery from another); uploads without a fault go on beside it as load.
                    await _oneFaultAtATime.WaitAsync();
                }

                UploadResult result;
                try
                {
                    result = await clients.UploadAsync(upload.Kind, body, sent =>
                    {
                        if (upload.Fault is { } fault && Strikes(upload.Point, sent) && Interlocked.Exchange(ref fired, 1) == 0)
                        {
                            injected = InjectAsync(fault, upload.Point);
                        }
                    });
                }
                finally
                {
                    if (upload.Fault is not null)
                    {
                        if (injected is not null)
                        {
                            await injected;
                        }

                        _oneFaultAtATime.Release();
                    }
                }

                results[upload.Index] = result;
                log($"upload {upload.Index} {upload.Kind} {upload.Size} B, fault {upload.Fault?.ToString() ?? "none"} {(upload.Fault is null ? "" : upload.Point.ToString())}: " +
                    $"{(result.ToldComplete ? "told complete" : "gave up")} as {result.Id} after {result.Elapsed.TotalSeconds:0.0} s, {result.Retries} retries {result.Error}");
            }
        }));

        return await CheckAsync(plan, [.. results.Select(r => r!)]);
    }

    private static bool Strikes(FaultPoint point, double sent) => point == FaultPoint.BeforeLastByte ? sent >= 0.5 : sent >= 1.0;

    private async Task InjectAsync(FaultKind fault, FaultPoint point)
    {
        await Task.Delay(point switch
        {
            FaultPoint.AtLastByte => TimeSpan.FromMilliseconds(20),
            FaultPoint.DuringCompletion => TimeSpan.FromMilliseconds(150),
            FaultPoint.AfterLastByte => TimeSpan.FromSeconds(1),
            _ => TimeSpan.Zero,
        });
        {
            log($"fault {fault} at {point}");
            switch (fault)
            {
                case FaultKind.FrontendKill:
                    await stack.KillFrontendAsync(await stack.BusyFrontendAsync());
                    break;
                case FaultKind.SiloKill:
                    await stack.KillSiloAsync(Random.Shared.Next(stack.Silos.Count));
                    break;
                case FaultKind.S3Refusing:
                    await stack.S3RefusingAsync(Outage);
                    break;
                case FaultKind.S3Hung:
                    await stack.S3HungAsync(Outage);
                    break;
                case FaultKind.S3FailsOneRequest:
                    stack.Relay.ResetOnceAfter(Random.Shared.Next(1, 256 * 1024));
                    break;
                case FaultKind.PostgresDown:
                    await stack.PostgresDownAsync(Outage);
                    break;
            }

            lock (_injected)
            {
                _injected[fault]++;
            }
        }
    }

    private async Task<FaultReport> CheckAsync(IReadOnlyList<PlannedUpload> plan, IReadOnlyList<UploadResult> results)
    {
        using var http = stack.Client(TimeSpan.FromMinutes(2));

        // 1. Every upload a client was told complete is stored and byte-identical.
        var lost = new List<string>();
        for (var i = 0; i < plan.Count; i++)
        {
            if (results[i] is { ToldComplete: true } told && await ReadBackFailureAsync(http, told) is { } why)
            {
                lost.Add($"upload {i} ({plan[i].Kind}, fault {plan[i].Fault} {plan[i].Point}) item {told.Id}: {why}");
            }
        }

        // 2. No item stays receiving or completing: abandoned one-shot uploads expire (Uploads:OneShotIdleExpiry), every
        // completion finishes. Only uploads whose client gave up may still be receiving (the tus expiry ends those).
        var gaveUp = results.Where(r => !r.ToldComplete).SelectMany(r => r.Created).ToHashSet();
        var known = results.SelectMany(r => r.Created).ToHashSet();
        var stuck = new List<string>();
        var abandoned = new HashSet<long>();
        var statuses = new Dictionary<long, string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        do
        {
            var ids = known.Union((await stack.IndexedItemsAsync()).Keys).ToHashSet();
            foreach (var id in ids)
            {
                statuses[id] = await StatusAsync(http, id) ?? "missing";
            }

            // A creation whose answer was lost (its frontend died) left an upload no client knows: it is not stuck if it
            // expires by itself (tus: Upload-Expires); the client made another.
            abandoned.Clear();
            foreach (var (id, status) in statuses.Where(s => s.Value == "receiving" && !known.Contains(s.Key)))
            {
                if (await ExpiresAsync(http, id))
                {
                    abandoned.Add(id);
                }
            }

            stuck = [.. statuses.Where(s => s.Value is "receiving" or "completing" or "unknown"
                    && !(s.Value == "receiving" && (gaveUp.Contains(s.Key) || abandoned.Contains(s.Key))))
                .Select(s => $"item {s.Key} {s.Value}")];
            if (stuck.Count == 0)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromSeconds(2));
        }
        while (DateTime.UtcNow < deadline);

        // 3. S3 holds no object that no item accounts for: a stored item has exactly one content object (and renditions),
        // an item that ended unfinished has none (its release is retried until done), a receiving one only its own.
        var orphans = new List<string>();
        var releaseDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        do
        {
            orphans = Orphans(await stack.ObjectKeysAsync(), statuses);
            if (orphans.Count == 0)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromSeconds(3));
        }
        while (DateTime.UtcNow < releaseDeadline);

        var rows = Enum.GetValues<FaultKind>().Select(kind =>
        {
            var indices = plan.Where(p => p.Fault == kind).Select(p => p.Index).ToArray();
            return (kind.ToString(), _injected[kind], indices.Length, indices.Count(i => results[i].ToldComplete),
                lost.Count(l => l.Contains($"fault {kind} ", StringComparison.Ordinal)),
                indices.SelectMany(i => results[i].Created).Count(id => stuck.Any(s => s.StartsWith($"item {id} ", StringComparison.Ordinal))));
        }).ToList();
        var baseline = plan.Where(p => p.Fault is null).Select(p => results[p.Index].Elapsed.TotalSeconds).ToArray();
        var faulted = plan.Where(p => p.Fault is not null).Select(p => results[p.Index].Elapsed.TotalSeconds).ToArray();
        return new FaultReport(rows, plan.Count, results.Count(r => r.ToldComplete), results.Count(r => !r.ToldComplete), lost, stuck, orphans,
            P99(baseline), P99(faulted), abandoned.Count);
    }

    private static List<string> Orphans(IReadOnlyList<string> keys, IReadOnlyDictionary<long, string> statuses)
    {
        var orphans = new List<string>();
        foreach (var item in keys.GroupBy(k => long.TryParse(k.Split('/').ElementAtOrDefault(1), out var id) ? id : -1))
        {
            var content = item.Where(k => k.EndsWith("/original", StringComparison.Ordinal) || k.Contains("/put/", StringComparison.Ordinal)).ToList();
            var status = statuses.GetValueOrDefault(item.Key, "unknown");
            var unexplained = status switch
            {
                "stored" => [.. item.Where(k => k.Contains("/tail/", StringComparison.Ordinal)), .. content.Skip(1)],
                "receiving" or "completing" => [],
                "unknown" => item.ToList(),
                _ => item.ToList(),
            };
            if (status == "stored" && content.Count == 0)
            {
                unexplained.Add($"media/{item.Key}: stored without a content object");
            }

            orphans.AddRange(unexplained.Select(k => $"{k} (item {status})"));
        }

        return orphans;
    }

    // Null when the stored bytes read back byte-identical; otherwise what the service answered (for the report).
    private static async Task<string?> ReadBackFailureAsync(HttpClient http, UploadResult told)
    {
        var expected = Convert.ToHexStringLower(SHA256.HashData(told.Body));
        var last = "no answer";
        for (var attempt = 0; attempt < 30; attempt++)
        {
            try
            {
                using var response = await http.GetAsync($"/media/{told.Id}/content");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var bytes = await response.Content.ReadAsByteArrayAsync();
                    return Convert.ToHexStringLower(SHA256.HashData(bytes)) == expected
                        ? null
                        : $"200 with {bytes.Length} bytes of another content (expected {told.Body.Length})";
                }

                var body = await response.Content.ReadAsStringAsync();
                last = $"{(int)response.StatusCode} {body[..Math.Min(body.Length, 300)]}";
                if ((int)response.StatusCode < 500)
                {
                    using var metadata = await http.GetAsync($"/media/{told.Id}/metadata");
                    var item = await metadata.Content.ReadAsStringAsync();
                    return $"{last}; metadata {(int)metadata.StatusCode} {item[..Math.Min(item.Length, 400)]}";
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                last = ex.GetType().Name + ": " + ex.Message;
            }

            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        return $"no 200 in 30 tries; last: {last}";
    }

    private static async Task<bool> ExpiresAsync(HttpClient http, long id)
    {
        using var head = new HttpRequestMessage(HttpMethod.Head, $"/files/{id}");
        head.Headers.Add("Tus-Resumable", "1.0.0");
        try
        {
            using var response = await http.SendAsync(head);
            return response.StatusCode == HttpStatusCode.OK && response.Headers.Contains("Upload-Expires");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private static async Task<string?> StatusAsync(HttpClient http, long id)
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            try
            {
                using var response = await http.GetAsync($"/media/{id}/metadata");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString();
                }

                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    return null;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        return "unknown";
    }

    private static double P99(double[] values)
    {
        if (values.Length == 0)
        {
            return 0;
        }

        Array.Sort(values);
        return values[Math.Min(values.Length - 1, (int)Math.Ceiling(values.Length * 0.99) - 1)];
    }
}
