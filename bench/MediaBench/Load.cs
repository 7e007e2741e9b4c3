using System.Diagnostics;
using System.Globalization;

namespace MediaService.Bench;

/// <summary>A closed-loop HTTP load: a fixed number of workers, each sending its next GET when the last one answered
/// (with <c>Authorization: Bearer $MEDIA_API_KEY</c> when that variable is set).</summary>
public static class Load
{
    /// <summary>Runs the load and prints "rps p50_ms p99_ms requests errors".</summary>
    public static async Task RunAsync(string[] urls, int concurrency, TimeSpan duration)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        if (Environment.GetEnvironmentVariable("MEDIA_API_KEY") is { Length: > 0 } key)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        await RoundAsync(http, urls, concurrency, TimeSpan.FromSeconds(2)); // warm-up: connections, JIT, grain activations
        var (latencies, errors, elapsed) = await RoundAsync(http, urls, concurrency, duration);
        latencies.Sort();
        double Percentile(double p) => latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)(p * latencies.Count))] * 1000.0 / Stopwatch.Frequency;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{latencies.Count / elapsed.TotalSeconds:0} {Percentile(0.50):0.00} {Percentile(0.99):0.00} {latencies.Count} {errors}"));
    }

    private static async Task<(List<long> Latencies, int Errors, TimeSpan Elapsed)> RoundAsync(HttpClient http, string[] urls, int concurrency, TimeSpan duration)
    {
        var all = new List<long>();
        var errors = 0;
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            var mine = new List<long>();
            while (clock.Elapsed < duration)
            {
                var url = urls[(int)((uint)Interlocked.Increment(ref next) % (uint)urls.Length)];
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await http.GetAsync(url, HttpCompletionOption.ResponseContentRead);
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref errors);
                        continue;
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                    continue;
                }

                mine.Add(Stopwatch.GetTimestamp() - started);
            }

            lock (all)
            {
                all.AddRange(mine);
            }
        }));
        return (all, errors, clock.Elapsed);
    }
}
