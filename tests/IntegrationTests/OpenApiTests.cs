using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests;

/// <summary>
/// The OpenAPI document the real frontend serves: two independent validators accept it (tools/openapi), every
/// operation says its id, answers and security, and a client Kiota generates from it builds and round-trips an upload,
/// a metadata patch and a search against the same frontend (tests/GeneratedClient).
/// </summary>
[Collection(MediaServiceCollection.Name)]
public sealed partial class OpenApiTests(MediaServiceFixture fixture) : IDisposable
{
    private static readonly string Root = ServiceProcess.RepositoryRoot;
    private readonly string _folder = Directory.CreateTempSubdirectory("openapi-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task TwoIndependentValidatorsFindNoErrorAndNoWarning()
    {
        var document = await SaveDocumentAsync();

        var (exit, output) = await RunAsync("node", [Path.Combine(Root, "tools", "openapi", "validate.mjs"), document], TimeSpan.FromMinutes(3));

        Assert.True(exit == 0, $"The validators reported problems (@readme/openapi-parser, Redocly's recommended rules):\n{output}");
        Assert.Contains("""{"parser":{"errors":0,"warnings":0},"redocly":{"errors":0,"warnings":0}}""", output);
    }

    [Fact]
    public async Task EveryOperationHasAUniqueIdASummaryItsPathParametersA4xxAnswerAndItsSecurity()
    {
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(await SaveDocumentAsync()));
        var root = document.RootElement;
        Assert.Equal("Media upload service API", root.GetProperty("info").GetProperty("title").GetString());
        var schemes = root.GetProperty("components").GetProperty("securitySchemes");
        var ids = new HashSet<string>();
        var problems = new List<string>();
        var operations = 0;
        foreach (var path in root.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Name is not ("parameters" or "summary" or "description")))
            {
                operations++;
                var name = $"{operation.Name.ToUpperInvariant()} {path.Name}";
                var value = operation.Value;
                if (!value.TryGetProperty("operationId", out var id) || !ids.Add(id.GetString()!))
                {
                    problems.Add($"{name}: no operationId, or one already used");
                }

                if (!value.TryGetProperty("summary", out var summary) || string.IsNullOrWhiteSpace(summary.GetString()))
                {
                    problems.Add($"{name}: no summary");
                }

                var declared = value.TryGetProperty("parameters", out var parameters)
                    ? parameters.EnumerateArray().Where(p => p.GetProperty("in").GetString() == "path").Select(p => p.GetProperty("name").GetString()).ToHashSet()
                    : [];
                foreach (var placeholder in PathParameter().Matches(path.Name).Select(m => m.Groups[1].Value).Where(p => !declared.Contains(p)))
                {
                    problems.Add($"{name}: path parameter {placeholder} not declared");
                }

                var responses = value.GetProperty("responses").EnumerateObject().ToList();
                if (!responses.Any(r => r.Name.StartsWith('4')))
                {
                    problems.Add($"{name}: no 4xx answer");
                }

                foreach (var response in responses.Where(r => r.Name is "401" or "429" && r.Value.TryGetProperty("content", out _)))
                {
                    if (!response.Value.GetProperty("content").TryGetProperty("application/problem+json", out var problem)
                        || problem.GetProperty("schema").GetProperty("$ref").GetString() != "#/components/schemas/ProblemDetails")
                    {
                        problems.Add($"{name}: {response.Name} is not a ProblemDetails in application/problem+json");
                    }
                }

                if (!value.TryGetProperty("security", out var security))
                {
                    problems.Add($"{name}: no security declared");
                    continue;
                }

                foreach (var scheme in security.EnumerateArray().SelectMany(r => r.EnumerateObject()).Where(s => !schemes.TryGetProperty(s.Name, out _)))
                {
                    problems.Add($"{name}: security scheme {scheme.Name} is not defined");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.True(operations >= 20, $"only {operations} operations in the document");

        // What each kind of route needs: a key; a key or a share link; nothing (tus capabilities).
        var paths = root.GetProperty("paths");
        Assert.Equal(["ApiKey"], Schemes(paths.GetProperty("/media/upload").GetProperty("post")));
        Assert.Equal(["ApiKey", "ShareLink"], Schemes(paths.GetProperty("/media/{id}/content").GetProperty("get")));
        Assert.Equal(0, paths.GetProperty("/files").GetProperty("options").GetProperty("security").GetArrayLength());
        Assert.Equal("HeadMediaContent", paths.GetProperty("/media/{id}/content").GetProperty("head").GetProperty("operationId").GetString());

        // The search's query, bound from one request object, is documented parameter by parameter.
        var search = paths.GetProperty("/media").GetProperty("get").GetProperty("parameters").EnumerateArray()
            .Where(p => p.GetProperty("in").GetString() == "query").Select(p => p.GetProperty("name").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { "tag", "q", "type", "status", "createdAfter", "createdBefore", "sort", "limit", "cursor" }, search);
        Assert.Equal(["GetStorage", "MoveShard", "GetShardMove"], new[] { paths.GetProperty("/admin/storage").GetProperty("get"),
            paths.GetProperty("/admin/storage/shards/{shard}/move").GetProperty("post"), paths.GetProperty("/admin/storage/moves/{id}").GetProperty("get") }
            .Select(o => o.GetProperty("operationId").GetString()));
    }

    [Fact]
    public async Task AClientGeneratedByKiotaBuildsAndRoundTripsAnUploadAPatchAndASearch()
    {
        var document = await SaveDocumentAsync();
        var project = Path.Combine(Root, "tests", "GeneratedClient");

        // Generated from the document the frontend serves (Kiota is the local tool of .config/dotnet-tools.json).
        var (generated, generation) = await RunAsync("dotnet",
            ["kiota", "generate", "-l", "CSharp", "-d", document, "-o", Path.Combine(project, "Generated"), "-c", "MediaClient",
                "-n", "MediaService.GeneratedClient.Api", "--exclude-backward-compatible", "--clean-output", "--log-level", "Error"],
            TimeSpan.FromMinutes(3), new Dictionary<string, string> { ["KIOTA_UPDATE_DISABLED"] = "true" });
        Assert.True(generated == 0, $"kiota generate failed:\n{generation}");

        var (built, build) = await RunAsync("dotnet",
            ["build", Path.Combine(project, "GeneratedClient.csproj"), "-c", "Release", "--nologo", "-v", "quiet", "-clp:ErrorsOnly"], TimeSpan.FromMinutes(5));
        Assert.True(built == 0, $"The generated client does not build:\n{build}");

        var (exit, output) = await RunAsync("dotnet",
            [Path.Combine(project, "bin", "Release", "net10.0", "GeneratedClient.dll"), fixture.Frontend.Address.ToString(), fixture.Frontend.UserKey],
            TimeSpan.FromMinutes(3));
        Assert.True(exit == 0, $"The round trip through the generated client failed:\n{output}");

        var result = JsonDocument.Parse(output.Split('\n').Single(l => l.StartsWith("{\"id\":", StringComparison.Ordinal))).RootElement;
        var id = result.GetProperty("id").GetInt64();
        Assert.Equal(64 * 1024 + 7, result.GetProperty("size").GetInt64());
        Assert.Equal(64 * 1024 + 7, result.GetProperty("contentBytes").GetInt64());
        Assert.StartsWith("Harbour kiota", result.GetProperty("title").GetString());
        Assert.Equal("golden-hour", result.GetProperty("tags")[1].GetString());
        Assert.Equal(id, result.GetProperty("foundByTag").GetInt64());
        Assert.Equal(id, result.GetProperty("foundByText").GetInt64());

        // The client deleted its item at the end: the service agrees.
        using var gone = await fixture.Http.GetAsync($"/media/{id}/metadata");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, gone.StatusCode);
    }

    private static string[] Schemes(JsonElement operation) =>
        [.. operation.GetProperty("security").EnumerateArray().SelectMany(r => r.EnumerateObject()).Select(s => s.Name).Order()];

    private async Task<string> SaveDocumentAsync()
    {
        var file = Path.Combine(_folder, "openapi.json");
        await File.WriteAllTextAsync(file, await fixture.Http.GetStringAsync("/openapi/v1.json"));
        return file;
    }

    /// <summary>Runs a tool from the repository's root (stdout and stderr together), killed after <paramref name="timeout"/>.</summary>
    private static async Task<(int Exit, string Output)> RunAsync(string command, string[] arguments, TimeSpan timeout, Dictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(command) { WorkingDirectory = Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? [])
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{command} {string.Join(' ', arguments)} did not finish within {timeout}:\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, (await stdout) + (await stderr));
    }

    [GeneratedRegex(@"\{([^}]+)\}")]
    private static partial Regex PathParameter();
}
