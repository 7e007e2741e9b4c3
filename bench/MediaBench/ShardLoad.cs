using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace MediaService.Bench;

/// <summary>
/// The storage writes of uploads as a closed-loop load (bench/shard-bench.sh): <c>create</c> sends tus creations
/// (<c>POST /files</c> with <c>Upload-Length</c>: a state write, an index row, reminders); <c>append</c> keeps one open
/// upload per worker and sends 64 KiB PATCHes to it (each records the tail: a state write). Prints
/// "rps p50_ms p99_ms requests errors" like <see cref="Load"/>.
/// </summary>
public static class ShardLoad
{
    private const int Chunk = 64 * 1024;

    /// <summary>Runs the load with the key in MEDIA_API_KEY.</summary>
    public static async Task RunAsync(string api, string mode, int concurrency, TimeSpan duration)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 }) { BaseAddress = new Uri(api) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", Environment.GetEnvironmentVariable("MEDIA_API_KEY")
            ?? throw new ArgumentException("MEDIA_API_KEY is not set."));
        http.DefaultRequestHeaders.Add("Tus-Resumable", "1.0.0");
        Func<Worker, Task<bool>> step = mode switch
        {
            "create" => w => CreateAsync(http, w, 1000),
            "append" => w => AppendAsync(http, w),
            _ => throw new ArgumentException($"Unknown mode '{mode}': create or append."),
        };
        var workers = Enumerable.Range(0, concurrency).Select(_ => new Worker()).ToArray();
        await RoundAsync(workers, step, TimeSpan.FromSeconds(2)); // warm-up
        var (latencies, errors, elapsed) = await RoundAsync(workers, step, duration);
        latencies.Sort();
        double Percentile(double p) => latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)(p * latencies.Count))] * 1000.0 / Stopwatch.Frequency;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{latencies.Count / elapsed.TotalSeconds:0} {Percentile(0.50):0.00} {Percentile(0.99):0.00} {latencies.Count} {errors}"));
    }

    private sealed class Worker
    {
        public Uri? Upload { get; set; }

        public long Offset { get; set; }
    }

    private static async Task<bool> CreateAsync(HttpClient http, Worker worker, long length)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/files");
        request.Headers.Add("Upload-Length", length.ToString(CultureInfo.InvariantCulture));
        using var response = await http.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.Created || response.Headers.Location is not { } location)
        {
            return false;
        }

        worker.Upload = location.IsAbsoluteUri ? location : new Uri(http.BaseAddress!, location);
        worker.Offset = 0;
        return true;
    }

    private static readonly byte[] Bytes = new byte[Chunk];

    private static async Task<bool> AppendAsync(HttpClient http, Worker worker)
    {
        if (worker.Upload is null || worker.Offset + Chunk > 512L * 1024 * 1024)
        {
            // Not timed as an append: a fresh upload of 512 MiB to append to.
            if (!await CreateAsync(http, worker, 512L * 1024 * 1024))
            {
                return false;
            }
        }

        using var request = new HttpRequestMessage(HttpMethod.Patch, worker.Upload) { Content = new ByteArrayContent(Bytes) };
        request.Headers.Add("Upload-Offset", worker.Offset.ToString(CultureInfo.InvariantCulture));
        request.Content.Headers.ContentType = new("application/offset+octet-stream");
        using var response = await http.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.NoContent)
        {
            worker.Upload = null;
            return false;
        }

        worker.Offset += Chunk;
        return true;
    }

    private static async Task<(List<long> Latencies, int Errors, TimeSpan Elapsed)> RoundAsync(Worker[] workers, Func<Worker, Task<bool>> step, TimeSpan duration)
    {
        var all = new List<long>();
        var errors = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(workers.Select(async worker =>
        {
            var mine = new List<long>();
            while (clock.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                bool ok;
                try
                {
                    ok = await step(worker);
                }
                catch (HttpRequestException)
                {
                    ok = false;
                }

                if (ok)
                {
                    mine.Add(Stopwatch.GetTimestamp() - started);
                }
                else
                {
                    Interlocked.Increment(ref errors);
                }
            }

            lock (all)
            {
                all.AddRange(mine);
            }
        }));
        return (all, errors, clock.Elapsed);
    }
}
