using System.Net.Http.Json;
using System.Text.Json;

namespace MediaService.InProcessTests.Host;

/// <summary>Checks shared by the test classes.</summary>
public static class Assertions
{
    /// <summary>The upload is stored with exactly <paramref name="body"/>: its metadata says so, REST GET serves those
    /// bytes, and a ranged GET the same bytes of them.</summary>
    public static async Task StoredAsync(InProcessHost host, string url, byte[] body)
    {
        var id = Tus.IdOf(url);
        var item = await host.Http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata");
        Assert.Equal("stored", item.GetProperty("status").GetString());
        Assert.Equal(body.Length, item.GetProperty("size").GetInt64());
        Assert.Equal(body, await host.Http.GetByteArrayAsync($"/media/{id}/content"));
        if (body.Length > 2)
        {
            var from = body.Length / 3;
            var to = body.Length - 2;
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/media/{id}/content");
            request.Headers.TryAddWithoutValidation("Range", $"bytes={from}-{to}");
            using var ranged = await host.Http.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.PartialContent, ranged.StatusCode);
            Assert.Equal($"bytes {from}-{to}/{body.Length}", ranged.Content.Headers.ContentRange?.ToString());
            Assert.Equal(body[from..(to + 1)], await ranged.Content.ReadAsByteArrayAsync());
        }
    }

    /// <summary>Waits for <paramref name="condition"/> on <paramref name="read"/>'s value, re-reading on each change of
    /// the cluster's answer, for at most <paramref name="timeout"/>; no fixed sleeps, a bounded number of reads.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> condition, TimeSpan timeout, string what)
    {
        using var budget = new CancellationTokenSource(timeout);
        var last = await read();
        while (!condition(last))
        {
            if (budget.IsCancellationRequested)
            {
                Assert.Fail($"Timed out after {timeout} waiting for {what}; last value {last}.");
            }

            await Task.Yield();
            last = await read();
        }

        return last;
    }
}
