using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MediaService.IntegrationTests.Cli;
using MediaService.IntegrationTests.Infrastructure;
using MediaService.Tests;
using SixLabors.ImageSharp.Formats.Png;

namespace MediaService.IntegrationTests;

/// <summary>The <c>media</c> command-line client (Cli/, <c>./media</c>) as a script runs it, against the real frontend.</summary>
[Collection(MediaServiceCollection.Name)]
public sealed class CliTests(MediaServiceFixture fixture) : IDisposable
{
    private const int Mib = 1024 * 1024;
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("media-cli-");
    private MediaCli? _cli;

    private MediaCli Cli => _cli ??= new MediaCli(fixture.Frontend.Address, fixture.Frontend.UserKey, Path.Combine(_work.FullName, "state", "uploads.json"));

    public void Dispose() => _work.Delete(recursive: true);

    [Fact]
    public async Task UploadOfFilesAndAFolderIsByteIdenticalAndJsonReportsEachFilesSha256()
    {
        var files = new Dictionary<string, byte[]>();
        void Add(string relative, byte[] bytes) => files[Write(relative, bytes)] = bytes;
        Add("one.bin", Payloads.Random(3 * Mib + 17, seed: 1));
        Add("two.jpg", Payloads.Random(200_000, seed: 2));
        Add("folder/b.bin", Payloads.Random(12 * Mib + 5, seed: 3));
        Add("folder/a.bin", Payloads.Random(1, seed: 4));
        Add("folder/sub/c.bin", Payloads.Random(5 * Mib, seed: 5));
        Add("folder/sub/empty.bin", []);

        var result = await Cli.RunAsync("upload", Path.Combine(_work.FullName, "one.bin"), Path.Combine(_work.FullName, "two.jpg"),
            Path.Combine(_work.FullName, "folder"), "--json", "--parallel", "3", "--chunk-size", "2M");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.JsonLines();
        Assert.Equal(files.Keys.Order(), lines.Select(l => l.GetProperty("file").GetString()!).Order());
        foreach (var line in lines)
        {
            var bytes = files[line.GetProperty("file").GetString()!];
            Assert.Equal(Payloads.Sha256(bytes), line.GetProperty("sha256").GetString());
            Assert.Equal(bytes.Length, line.GetProperty("size").GetInt64());
            Assert.Equal(0, line.GetProperty("resumedFrom").GetInt64());
            var id = line.GetProperty("id").GetInt64();
            Assert.Equal(Payloads.Sha256(bytes), Payloads.Sha256(await fixture.Http.GetByteArrayAsync($"/media/{id}/content")));
            var item = await fixture.Http.GetFromJsonAsync<JsonElement>($"/media/{id}");
            Assert.Equal(Path.GetFileName(line.GetProperty("file").GetString()), item.GetProperty("fileName").GetString());
        }

        Assert.Empty(Cli.Unfinished());
    }

    [Fact]
    public async Task AnUploadKilledMidFileResumesFromTheServicesOffset()
    {
        var body = Payloads.Random(48 * Mib, seed: 48);
        var file = Write("big.bin", body);

        // Slowed to 4 MB/s (12 s for the file), so that it is surely killed midway: SIGKILL, nothing cooperative.
        using (var first = Cli.Start("upload", file, "--chunk-size", "1M", "--limit-rate", "4M", "--json"))
        {
            var url = await UploadUrlAsync(file);
            await Eventually.HoldsAsync(() => OffsetAsync(url), offset => offset > 0, TimeSpan.FromSeconds(60), "a first chunk stored");
            first.Process.Kill();
            await first.Process.WaitForExitAsync();
        }

        var url2 = Assert.Single(Cli.Unfinished()).Value;
        var before = await OffsetAsync(url2);
        Assert.InRange(before, 1, body.Length - 1);

        var second = await Cli.RunAsync("upload", file, "--chunk-size", "1M", "--json");

        Assert.True(second.ExitCode == 0, second.ToString());
        var line = Assert.Single(second.JsonLines());
        Assert.InRange(line.GetProperty("resumedFrom").GetInt64(), before, body.Length - 1);
        Assert.Contains("resuming at", second.Stderr, StringComparison.Ordinal);
        Assert.Equal(Tus.IdOf(new Uri(url2).AbsolutePath), line.GetProperty("id").GetInt64());
        Assert.Equal(Payloads.Sha256(body), line.GetProperty("sha256").GetString());
        var stored = await fixture.Http.GetByteArrayAsync($"/media/{line.GetProperty("id").GetInt64()}/content");
        Assert.True(Payloads.Sha256(body) == Payloads.Sha256(stored), "the resumed upload is not byte-identical");
        Assert.Empty(Cli.Unfinished());
    }

    [Fact]
    public async Task CtrlCExits130AndLeavesAnUploadTheNextRunResumes()
    {
        var body = Payloads.Random(16 * Mib + 3, seed: 16);
        var file = Write("interrupted.bin", body);
        CliResult interrupted;
        using (var first = Cli.Start("upload", file, "--chunk-size", "512K", "--limit-rate", "2M"))
        {
            var url = await UploadUrlAsync(file);
            await Eventually.HoldsAsync(() => OffsetAsync(url), offset => offset > 0, TimeSpan.FromSeconds(60), "a first chunk stored");
            first.Signal(MediaCli.SigInt);
            interrupted = await first.WaitAsync(TimeSpan.FromSeconds(30));
        }

        Assert.True(interrupted.ExitCode == 130, interrupted.ToString());
        Assert.Contains("interrupted", interrupted.Stderr, StringComparison.Ordinal);
        var url2 = Assert.Single(Cli.Unfinished()).Value;
        Assert.True(await OffsetAsync(url2) > 0);

        var second = await Cli.RunAsync("upload", file, "--json");

        Assert.True(second.ExitCode == 0, second.ToString());
        var line = Assert.Single(second.JsonLines());
        Assert.True(line.GetProperty("resumedFrom").GetInt64() > 0, second.ToString());
        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await fixture.Http.GetByteArrayAsync($"/media/{line.GetProperty("id").GetInt64()}/content")));
    }

    [Fact]
    public async Task AFileChangedSinceItsInterruptedUploadStartsOverAndTheOldUploadIsTerminated()
    {
        var file = Write("changing.bin", Payloads.Random(8 * Mib, seed: 21));
        string old;
        using (var first = Cli.Start("upload", file, "--chunk-size", "256K", "--limit-rate", "1M"))
        {
            old = await UploadUrlAsync(file);
            await Eventually.HoldsAsync(() => OffsetAsync(old), offset => offset > 0, TimeSpan.FromSeconds(60), "a first chunk stored");
            first.Process.Kill();
            await first.Process.WaitForExitAsync();
        }

        var changed = Payloads.Random(8 * Mib + 1, seed: 22);
        await File.WriteAllBytesAsync(file, changed);

        var second = await Cli.RunAsync("upload", file, "--json");

        Assert.True(second.ExitCode == 0, second.ToString());
        var line = Assert.Single(second.JsonLines());
        Assert.Equal(0, line.GetProperty("resumedFrom").GetInt64());
        Assert.Contains("terminating", second.Stderr, StringComparison.Ordinal);
        using (var head = Tus.Request(HttpMethod.Head, new Uri(old).AbsolutePath))
        using (var response = await fixture.Http.SendAsync(head))
        {
            Assert.Contains(response.StatusCode, new[] { HttpStatusCode.NotFound, HttpStatusCode.Gone });
        }

        Assert.Equal(Payloads.Sha256(changed), Payloads.Sha256(await fixture.Http.GetByteArrayAsync($"/media/{line.GetProperty("id").GetInt64()}/content")));
        Assert.Empty(Cli.Unfinished());
    }

    [Fact]
    public async Task AFileRewrittenDuringItsUploadFailsWithExit1AndItsUploadIsTerminated()
    {
        var file = Write("rewritten.bin", Payloads.Random(4 * Mib, seed: 31));
        CliResult result;
        string url;
        using (var run = Cli.Start("upload", file, "--chunk-size", "256K", "--limit-rate", "512K", "--json"))
        {
            url = await UploadUrlAsync(file);
            await Eventually.HoldsAsync(() => OffsetAsync(url), offset => offset > 0, TimeSpan.FromSeconds(60), "a first chunk stored");
            // Same length, other bytes, a later modification time: what an editor saving in place does.
            await using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
            {
                await stream.WriteAsync(Payloads.Random(4 * Mib, seed: 32));
            }

            File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddMinutes(1));
            result = await run.WaitAsync(TimeSpan.FromMinutes(2));
        }

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("changed while being uploaded", result.Stderr, StringComparison.Ordinal);
        var line = Assert.Single(result.JsonLines());
        Assert.Equal(1, line.GetProperty("exit").GetInt32());
        using (var head = Tus.Request(HttpMethod.Head, new Uri(url).AbsolutePath))
        using (var response = await fixture.Http.SendAsync(head))
        {
            Assert.Contains(response.StatusCode, new[] { HttpStatusCode.NotFound, HttpStatusCode.Gone });
        }

        Assert.Empty(Cli.Unfinished());
    }

    [Fact]
    public async Task ABadKeyExits4WithTheServicesMessage()
    {
        var file = Write("refused.bin", Payloads.Random(1000, seed: 9));
        var bad = Cli.WithKey("mk_" + new string('x', 65));

        var upload = await bad.RunAsync("upload", file);
        var ls = await bad.RunAsync("ls");

        Assert.True(upload.ExitCode == 4, upload.ToString());
        Assert.True(ls.ExitCode == 4, ls.ToString());
        Assert.Contains("401", ls.Stderr, StringComparison.Ordinal);
        Assert.Single(ls.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task UnknownIdsExit3ForGetAndRm()
    {
        var get = await Cli.RunAsync("get", "4000000000000001");
        var rm = await Cli.RunAsync("rm", "4000000000000001");
        var wait = await Cli.RunAsync("wait", "4000000000000001");

        Assert.True(get.ExitCode == 3, get.ToString());
        Assert.True(rm.ExitCode == 3, rm.ToString());
        Assert.True(wait.ExitCode == 3, wait.ToString());
        Assert.Contains("not found", get.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("", get.Stdout);
    }

    [Fact]
    public async Task AnUnreachableServiceExits5AfterTheBoundedRetries()
    {
        var file = Write("nowhere.bin", Payloads.Random(1000, seed: 10));
        var closed = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();

        var result = await Cli.RunAsync("upload", file, "--url", $"http://127.0.0.1:{port}", "--retries", "2");

        Assert.True(result.ExitCode == 5, result.ToString());
        Assert.Contains("after 3 attempts", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingFileIsAUsageErrorBeforeAnythingIsUploaded()
    {
        var present = Write("present.bin", Payloads.Random(1000, seed: 11));

        var result = await Cli.RunAsync("upload", present, Path.Combine(_work.FullName, "absent.bin"), "--json");
        var usage = await Cli.RunAsync("upload", present, "--parallel", "zero");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("absent.bin", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
        Assert.Empty(Cli.Unfinished());
        Assert.True(usage.ExitCode == 2, usage.ToString());
    }

    [Fact]
    public async Task LsFindsTheUploadedItemsByTagAndText()
    {
        var tag = $"cli-{Guid.NewGuid():N}"[..20];
        var word = $"zebra{Random.Shared.Next(100_000, 999_999)}";
        Write("tagged/a.bin", Payloads.Random(5000, seed: 12));
        Write("tagged/b.bin", Payloads.Random(6000, seed: 13));
        var upload = await Cli.RunAsync("upload", Path.Combine(_work.FullName, "tagged"), "--tag", tag, "--tag", "Second Tag", "--json");
        Assert.True(upload.ExitCode == 0, upload.ToString());
        // a.bin first: the lines come in the order the uploads ended.
        var ids = upload.JsonLines().OrderBy(l => l.GetProperty("file").GetString(), StringComparer.Ordinal).Select(l => l.GetProperty("id").GetInt64()).ToArray();
        Assert.All(upload.JsonLines(), l => Assert.Equal([tag, "second-tag"], l.GetProperty("tags").EnumerateArray().Select(t => t.GetString())));
        using (var patch = new HttpRequestMessage(HttpMethod.Patch, $"/media/{ids[0]}/metadata")
        {
            Content = new StringContent($"{{\"keywords\":[\"{word}\"]}}", Encoding.UTF8, "application/merge-patch+json"),
        })
        {
            (await fixture.Http.SendAsync(patch)).EnsureSuccessStatusCode();
        }

        var byTag = await Eventually.HoldsAsync(() => Cli.RunAsync("ls", "--tag", tag, "--json", "--limit", "10"),
            r => r.ExitCode == 0 && r.JsonLines().Count == 2, TimeSpan.FromSeconds(30), "both items listed by their tag");
        var byText = await Eventually.HoldsAsync(() => Cli.RunAsync("ls", "--tag", tag, "-q", word),
            r => r.ExitCode == 0 && r.Stdout.Trim().Length > 0, TimeSpan.FromSeconds(30), "the item found by its keyword");

        Assert.Equal(ids.Order(), byTag.JsonLines().Select(l => l.GetProperty("id").GetInt64()).Order());
        var row = Assert.Single(byText.Stdout.Trim().Split('\n')).Split('\t');
        Assert.Equal(ids[0].ToString(System.Globalization.CultureInfo.InvariantCulture), row[0]);
        Assert.Equal("a.bin", row[3]);
    }

    [Fact]
    public async Task WaitReturns0OnceProcessedAndLinkPrintsUrlsThatOpenTheContent()
    {
        var png = MediaCorpus.Image(160, 120, new PngEncoder());
        var file = Write("photo.png", png);
        var upload = await Cli.RunAsync("upload", file, "--json");
        Assert.True(upload.ExitCode == 0, upload.ToString());
        var id = Assert.Single(upload.JsonLines()).GetProperty("id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);

        var wait = await Cli.RunAsync("wait", id, "--timeout", "120");
        var link = await Cli.RunAsync("link", id, "--expires", "600");
        var download = Path.Combine(_work.FullName, "back.png");
        var get = await Cli.RunAsync("get", id, "-o", download);

        Assert.True(wait.ExitCode == 0, wait.ToString());
        Assert.Equal("ready", wait.Stdout.Trim());
        Assert.True(link.ExitCode == 0, link.ToString());
        var urls = link.Stdout.Trim().Split('\n').Select(l => l.Split('\t')).ToDictionary(p => p[0], p => p[1]);
        using var anonymous = new HttpClient();
        Assert.Equal(Payloads.Sha256(png), Payloads.Sha256(await anonymous.GetByteArrayAsync(urls["content"])));
        using var thumb = await anonymous.GetAsync(urls["thumb.webp"]);
        Assert.Equal(HttpStatusCode.OK, thumb.StatusCode);
        Assert.Equal("image/webp", thumb.Content.Headers.ContentType?.MediaType);
        Assert.True(get.ExitCode == 0, get.ToString());
        Assert.Equal(png, await File.ReadAllBytesAsync(download));
    }

    [Fact]
    public async Task WaitExits6WhenProcessingRejectsTheContentAndRmDeletesIt()
    {
        var file = Write("noise.jpg", Payloads.Random(4000, seed: 14));
        var upload = await Cli.RunAsync("upload", file, "--json");
        var id = Assert.Single(upload.JsonLines()).GetProperty("id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);

        var wait = await Cli.RunAsync("wait", id, "--timeout", "120");
        var rm = await Cli.RunAsync("rm", id);
        var again = await Cli.RunAsync("get", id);

        Assert.True(wait.ExitCode == 6, wait.ToString());
        Assert.StartsWith("rejected", wait.Stdout.Trim(), StringComparison.Ordinal);
        Assert.True(rm.ExitCode == 0, rm.ToString());
        Assert.True(again.ExitCode == 3, again.ToString());
    }

    [Fact]
    public async Task TheWrapperRunsTheClientFromAnyDirectoryAndPassesItsExitCode()
    {
        var wrapper = Path.Combine(ServiceProcess.RepositoryRoot, "media");
        var start = new ProcessStartInfo(wrapper) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _work.FullName };
        start.ArgumentList.Add("get");
        start.ArgumentList.Add("not-an-id");
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(process.ExitCode == 2, await stderr);
        Assert.Contains("not an item id", await stderr, StringComparison.Ordinal);
    }

    private string Write(string relative, byte[] bytes)
    {
        var path = Path.Combine(_work.FullName, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    // The URL the client keeps for the file in its state file, once it has created the upload.
    private async Task<string> UploadUrlAsync(string file) =>
        (await Eventually.HoldsAsync(() => Task.FromResult(Cli.Unfinished().GetValueOrDefault(file)), url => url is not null,
            TimeSpan.FromSeconds(60), "the upload recorded in the state file"))!;

    private async Task<long> OffsetAsync(string url)
    {
        using var head = Tus.Request(HttpMethod.Head, new Uri(url).AbsolutePath);
        using var response = await fixture.Http.SendAsync(head);
        response.EnsureSuccessStatusCode();
        return long.Parse(response.Headers.GetValues("Upload-Offset").Single(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
