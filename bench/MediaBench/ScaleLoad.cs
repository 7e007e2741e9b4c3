using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;

namespace MediaService.Bench;

/// <summary>
/// Continuous tus uploads (1 MiB and 6 MiB bodies, 5 MiB PATCHes) by a fixed number of workers, each retrying as
/// tus-js-client does with <c>retryDelays [0, 1000, 3000, 5000]</c> and reading the item's metadata after it. Every
/// second it prints the uploads completed, the failed ones and the retries in that second, and the media items per
/// silo from <c>GET /admin/cluster</c>. At the end it checks every upload's bytes and prints, for each silo that
/// joined during the run, when it joined and when it first carried its share (80 % of an even split of the items).
/// </summary>
public static class ScaleLoad
{
    private const int Mib = 1024 * 1024;

    /// <summary>Runs until <paramref name="duration"/> has passed or the file <paramref name="stopFile"/> exists.</summary>
    public static async Task RunAsync(string api, string adminKey, string userKey, int concurrency, TimeSpan duration, string stopFile)
    {
        using var http = Client(api, userKey, concurrency);
        using var admin = Client(api, adminKey, 2);
        var t0 = double.Parse(Environment.GetEnvironmentVariable("BENCH_T0") ?? "0", CultureInfo.InvariantCulture);
        var start = t0 > 0 ? DateTimeOffset.FromUnixTimeMilliseconds((long)(t0 * 1000)) : DateTimeOffset.UtcNow;
        double Now() => (DateTimeOffset.UtcNow - start).TotalSeconds;
        var done = new ConcurrentBag<(string Url, byte[] Sha)>();
        var (completed, failed) = (new int[1], new int[1]);
        var tus = new MediaService.Tests.RetryingTusClient(http, 5 * Mib);
        using var stop = new CancellationTokenSource(duration);

        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var seed = w * 1_000_000;
            while (!stop.IsCancellationRequested && !File.Exists(stopFile))
            {
                var body = new byte[(seed % 3 == 0 ? 6 * Mib : Mib) + seed % 1013];
                new Random(seed++).NextBytes(body);
                try
                {
                    var url = await tus.UploadAsync(body);
                    using var read = await http.GetAsync($"/media/{url.Split('/')[^1]}/metadata");
                    if (read.StatusCode != HttpStatusCode.OK)
                    {
                        throw new InvalidOperationException($"metadata answered {(int)read.StatusCode}");
                    }

                    done.Add((url, SHA256.HashData(body)));
                    Interlocked.Increment(ref completed[0]);
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref failed[0]);
                    Console.Error.WriteLine($"{Now():0.0} failed: {ex.GetType().Name}: {ex.Message}");
                }
            }
        })).ToArray();

        var joined = new Dictionary<string, double>();
        var shared = new Dictionary<string, double>();
        var initial = new HashSet<string>();
        var (lastCompleted, lastFailed, lastRetries) = (0, 0, 0);
        Console.WriteLine("t_s completed/s failed/s retries/s media_items_per_silo");
        while (!workers.All(w => w.IsCompleted))
        {
            await Task.WhenAny(Task.Delay(1000), Task.WhenAll(workers));
            var silos = await SilosAsync(admin);
            var t = Now();
            foreach (var (silo, _) in silos)
            {
                if (joined.Count == 0 && initial.Count == 0 || initial.Count > 0 && initial.Contains(silo))
                {
                    initial.Add(silo);
                }
                else
                {
                    joined.TryAdd(silo, t);
                }
            }

            var total = silos.Sum(s => s.Items);
            foreach (var (silo, items) in silos.Where(s => joined.ContainsKey(s.Silo) && !shared.ContainsKey(s.Silo)))
            {
                if (total > 0 && items >= 0.8 * total / silos.Count)
                {
                    shared[silo] = t;
                }
            }

            var (c, f, r) = (Volatile.Read(ref completed[0]), Volatile.Read(ref failed[0]), tus.Retries);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{t:0} {c - lastCompleted} {f - lastFailed} {r - lastRetries} {string.Join(" ", silos.Select(s => $"{s.Silo}={s.Items}"))}"));
            (lastCompleted, lastFailed, lastRetries) = (c, f, r);
        }

        var mismatched = 0;
        foreach (var (url, sha) in done)
        {
            var stored = await http.GetByteArrayAsync($"/media/{url.Split('/')[^1]}/content");
            mismatched += SHA256.HashData(stored).AsSpan().SequenceEqual(sha) ? 0 : 1;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"uploads {completed[0]} failed {failed[0]} retries {tus.Retries} byte-identical {done.Count - mismatched}/{done.Count}"));
        foreach (var (silo, at) in joined)
        {
            Console.WriteLine(shared.TryGetValue(silo, out var share)
                ? string.Create(CultureInfo.InvariantCulture, $"silo {silo} joined at {at:0.0} s, carried its share at {share:0.0} s ({share - at:0.0} s later)")
                : string.Create(CultureInfo.InvariantCulture, $"silo {silo} joined at {at:0.0} s, never carried its share while it ran"));
        }
    }

    private static HttpClient Client(string api, string key, int connections)
    {
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections + 2 }) { BaseAddress = new Uri(api), Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    private static async Task<List<(string Silo, int Items)>> SilosAsync(HttpClient admin)
    {
        try
        {
            var view = await admin.GetFromJsonAsync<JsonElement>("/admin/cluster");
            return [.. view.GetProperty("silos").EnumerateArray()
                .Where(s => s.GetProperty("status").GetString() == "Active" && s.GetProperty("load").ValueKind == JsonValueKind.Object)
                .Select(s => (s.GetProperty("address").GetString()!.Split('@')[0], s.GetProperty("load").GetProperty("mediaItems").GetInt32()))];
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            return [];
        }
    }
}
