using MediaService.DataPlane;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace MediaService.Bench;

/// <summary>Prints PostgreSQL's plan for the service's own search SQL (built by <see cref="MediaIndex.BuildSearch"/>).</summary>
public static class Explain
{
    /// <summary>Explains each query, given as a query string (tag=a&amp;tag=b&amp;q=words&amp;type=image&amp;sort=relevance&amp;limit=20).</summary>
    public static async Task RunAsync(string connectionString, string serviceId, string owner, IEnumerable<string> queries)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Media"] = connectionString }).Build();
        await using var services = new ServiceCollection().AddLogging().AddMediaDataPlane(configuration).BuildServiceProvider();
        var index = services.GetRequiredService<DataPlane.Sharding.ShardDatabases>().All.First().Index;
        foreach (var text in queries)
        {
            var q = QueryHelpers.ParseQuery(text);
            var query = new SearchQuery(
                [.. q.TryGetValue("tag", out var tags) ? tags.Select(t => t!) : []],
                q.TryGetValue("q", out var words) ? words.ToString() : null,
                q.TryGetValue("type", out var kind) ? kind.ToString() : null,
                q.TryGetValue("status", out var status) ? status.ToString() : null,
                null,
                null,
                q.TryGetValue("sort", out var sort) && sort == "relevance" ? SearchSort.Relevance : SearchSort.Created,
                q.TryGetValue("limit", out var limit) ? int.Parse(limit!, System.Globalization.CultureInfo.InvariantCulture) : 20,
                null,
                owner);
            await using var command = index.BuildSearch(serviceId, query);
            command.CommandText = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + command.CommandText;
            Console.WriteLine($"--- {text}");
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                Console.WriteLine(reader.GetString(0));
            }
        }
    }
}
