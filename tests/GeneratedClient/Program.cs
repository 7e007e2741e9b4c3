// A round trip through the client Kiota generated from the frontend's OpenAPI document (Generated/): an upload, a
// metadata patch with If-Match (and a stale one refused), a search by tag and by text, the content read back, and a
// delete. Every call goes through generated code only. Usage: GeneratedClient BASE_URL API_KEY
// Prints one JSON object with what it read back; exits 0 when every step gave what it should, 1 otherwise.
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using MediaService.GeneratedClient.Api;
using MediaService.GeneratedClient.Api.Models;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;
using Microsoft.Kiota.Http.HttpClientLibrary.Middleware.Options;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: GeneratedClient BASE_URL API_KEY");
    return 2;
}

using var http = KiotaClientFactory.Create();
http.Timeout = TimeSpan.FromSeconds(30);
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", args[1]);
var client = new MediaClient(new HttpClientRequestAdapter(new AnonymousAuthenticationProvider(), httpClient: http) { BaseUrl = args[0].TrimEnd('/') });
using var overall = new CancellationTokenSource(TimeSpan.FromMinutes(2));
var cancel = overall.Token;
var word = $"kiota{Guid.NewGuid():N}"[..16];
var body = RandomNumberGenerator.GetBytes(64 * 1024 + 7);

try
{
    // 1. Upload (POST /media/upload, the body is the file).
    var created = await client.Media.Upload.PostAsync(new MemoryStream(body), "application/octet-stream",
        c => c.QueryParameters.Filename = $"{word}.bin", cancel);
    var id = created?.Id ?? throw new Failure("the upload answered no id");
    Check(created.Size == body.Length, $"the upload's size is {created.Size}, not {body.Length}");
    Check(created.FileName == $"{word}.bin", $"the upload's file name is {created.FileName}");

    // 2. Patch the metadata with If-Match: the ETag of a read (response headers through Kiota's inspection option).
    var inspect = new HeadersInspectionHandlerOption { InspectResponseHeaders = true };
    var before = await client.Media[id].Metadata.GetAsync(c => c.Options.Add(inspect), cancel) ?? throw new Failure("the metadata answered nothing");
    var etag = inspect.ResponseHeaders.TryGetValue("ETag", out var values) ? values.Single() : throw new Failure("the metadata answered no ETag");
    var patched = await client.Media[id].Metadata.PatchAsync(
        new MetadataPatchDocument { Title = $"Harbour {word}", Tags = [word, "Golden Hour"], Keywords = ["boats"] },
        c => c.Headers.Add("If-Match", etag), cancel) ?? throw new Failure("the patch answered nothing");
    Check(patched.Title == $"Harbour {word}", $"the patch answered title {patched.Title}");
    Check(patched.Version > before.Version, "the patch did not raise the version");

    // The same If-Match again is stale now: a 412 problem, thrown as the generated ProblemDetails.
    try
    {
        await client.Media[id].Metadata.PatchAsync(new MetadataPatchDocument { Title = "stale" }, c => c.Headers.Add("If-Match", etag), cancel);
        throw new Failure("a stale If-Match was accepted");
    }
    catch (ProblemDetails problem)
    {
        Check(problem.ResponseStatusCode == 412 && problem.Code == "version-mismatch", $"a stale If-Match answered {problem.ResponseStatusCode} {problem.Code}");
    }

    var read = await client.Media[id].Metadata.GetAsync(cancellationToken: cancel) ?? throw new Failure("the metadata answered nothing");
    Check(read.Title == $"Harbour {word}", $"the metadata reads title {read.Title}");
    Check(read.Tags is [var first, "golden-hour"] && first == word, $"the metadata reads tags {string.Join(",", read.Tags ?? [])}");

    // 3. Search by tag and by text (the index follows the item's changes: wait for it, bounded).
    var byTag = await UntilFoundAsync(() => client.Media.GetAsync(c => c.QueryParameters.Tag = [word], cancel), id, cancel);
    var byText = await UntilFoundAsync(() => client.Media.GetAsync(c => c.QueryParameters.Q = word, cancel), id, cancel);
    Check(byTag.Title == $"Harbour {word}", $"the search by tag found title {byTag.Title}");

    // 4. The content reads back byte-identical.
    await using var content = await client.Media[id].Content.GetAsync(cancellationToken: cancel) ?? throw new Failure("no content");
    using var copy = new MemoryStream();
    await content.CopyToAsync(copy, cancel);
    Check(copy.ToArray().AsSpan().SequenceEqual(body), "the content differs from the upload");

    // 5. Delete, and the item is gone: a 404 problem.
    await client.Media[id].DeleteAsync(cancellationToken: cancel);
    try
    {
        await client.Media[id].Metadata.GetAsync(cancellationToken: cancel);
        throw new Failure("the deleted item still reads");
    }
    catch (ProblemDetails problem)
    {
        Check(problem.ResponseStatusCode == 404 && problem.Code == "media-not-found", $"a deleted item answered {problem.ResponseStatusCode} {problem.Code}");
    }

    Console.WriteLine(JsonSerializer.Serialize(new
    {
        id,
        size = read.Size,
        title = read.Title,
        tags = read.Tags,
        version = read.Version,
        foundByTag = byTag.Id,
        foundByText = byText.Id,
        contentBytes = copy.Length,
    }));
    return 0;
}
catch (Exception failure) when (failure is Failure or ProblemDetails or HttpRequestException or OperationCanceledException)
{
    Console.Error.WriteLine(failure is ProblemDetails problem
        ? $"unexpected problem {problem.ResponseStatusCode} {problem.Code}: {problem.Detail}"
        : $"round trip failed: {failure.Message}");
    return 1;
}

static void Check([System.Diagnostics.CodeAnalysis.DoesNotReturnIf(false)] bool condition, string failure)
{
    if (!condition)
    {
        throw new Failure(failure);
    }
}

static async Task<SearchItem> UntilFoundAsync(Func<Task<SearchResponse?>> search, long id, CancellationToken cancel)
{
    var clock = Stopwatch.StartNew();
    while (true)
    {
        var page = await search();
        if (page?.Items?.FirstOrDefault(i => i.Id == id) is { } found)
        {
            return found;
        }

        if (clock.Elapsed > TimeSpan.FromSeconds(30))
        {
            throw new Failure($"item {id} was not found by the search within 30 s");
        }

        await Task.Delay(200, cancel);
    }
}

/// <summary>A step of the round trip that did not give what it should.</summary>
internal sealed class Failure(string message) : Exception(message);
