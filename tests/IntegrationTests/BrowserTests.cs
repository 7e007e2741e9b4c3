using System.Net.Http.Json;
using System.Text.Json;
using MediaService.IntegrationTests.Browser;
using MediaService.IntegrationTests.Infrastructure;
using MediaService.Tests;
using Xunit.Abstractions;

namespace MediaService.IntegrationTests;

/// <summary>
/// The upload web app (/app/) in a real browser (Debian's Chromium, driven by playwright-core from
/// Browser/upload-app.mjs) against the real frontend: a pasted key, a batch of images, a 64 MiB file in chunks, a
/// file through a network drop, a reload mid-upload, thumbnails, a title edited on the item page and found by search,
/// a webhook subscription made, delivered to, redelivered and deleted in the page, and a person without a key uploading
/// through an upload link (who gets neither the gallery nor the webhooks).
/// Every file must be stored byte-identical. Screenshots are kept in .data/test-artifacts/browser/.
/// </summary>
[Collection(MediaServiceCollection.Name)]
public sealed class BrowserTests(MediaServiceFixture fixture, ITestOutputHelper output) : IDisposable
{
    private const int Mib = 1024 * 1024;
    private readonly string _folder = Directory.CreateTempSubdirectory("browser-files-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task APersonUploadsThroughTheWebAppAndEveryFileArrivesByteIdentical()
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var batch = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            // Real images of different sizes (so of different bytes): JPEGs with EXIF, and PNGs with transparency.
            var (name, bytes) = i % 3 == 2
                ? ($"photo-{i:00}.png", MediaCorpus.TransparentPng(320 + (i * 16), 240 + (i * 8)))
                : ($"photo-{i:00}.jpg", MediaCorpus.JpegWithGps(640 + (i * 32), 480 + (i * 16)));
            batch.Add(Write(files, name, bytes));
        }

        var large = Write(files, "large-64mib.bin", Payloads.Random(64 * Mib, seed: 641));
        var offline = Write(files, "through-a-network-drop.bin", Payloads.Random(48 * Mib + 12345, seed: 642));
        var reload = Write(files, "through-a-reload.bin", Payloads.Random(64 * Mib + 7, seed: 643));
        var marker = $"m{Guid.NewGuid():N}"[..12];
        var linkFile = Write(files, "through-an-upload-link.jpg", MediaCorpus.JpegWithGps(500, 375));
        using var made = await fixture.Http.PostAsJsonAsync("/upload-links", new { expiresInSeconds = 900, maxBytes = 10 * Mib });
        made.EnsureSuccessStatusCode();
        var uploadLink = (await made.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("url").GetString();

        var (report, log, exitCode) = await BrowserRun.RunAsync("upload-app.mjs", new()
        {
            ["baseUrl"] = fixture.Frontend.Address.ToString().TrimEnd('/'),
            ["key"] = fixture.Frontend.UserKey,
            ["batch"] = batch,
            ["large"] = large,
            ["offline"] = offline,
            ["reload"] = reload,
            ["chunkSize"] = 4 * Mib,
            ["marker"] = marker,
            ["artifacts"] = BrowserRun.ArtifactsFolder(),
            ["uploadLink"] = uploadLink,
            ["linkFile"] = linkFile,
        }, TimeSpan.FromMinutes(12));
        output.WriteLine(log);
        // What the browser did, in the test run's output too (./test.sh shows standard output).
        Console.WriteLine(log.TrimEnd());
        Console.WriteLine($"[browser test] 64 MiB in {Figure(report, "largePatches")} PATCHes; network dropped at {Figure(report, "offlineProgressAtDrop")}% "
            + $"({Figure(report, "offlineFailures")} requests failed); reloaded at {Figure(report, "reloadProgressAtReload")}%; {Figure(report, "thumbnailsShown")} thumbnails");
        foreach (var shot in report.GetProperty("screenshots").EnumerateArray())
        {
            output.WriteLine($"screenshot: {shot.GetString()}");
            Console.WriteLine($"[browser test] screenshot: {shot.GetString()}");
        }

        Assert.True(exitCode == 0, $"The browser run failed: {(report.TryGetProperty("error", out var error) ? error.GetString() : "")}\n{log}\n"
            + $"Uppy's files: {(report.TryGetProperty("uppyFiles", out var state) ? state.GetRawText() : "?")}");
        var consoleErrors = report.GetProperty("consoleErrors").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.True(consoleErrors.Count == 0, $"The page logged errors:\n{string.Join('\n', consoleErrors)}");

        // Every file arrived, byte-identical.
        var uploads = report.GetProperty("uploads");
        var link = report.GetProperty("linkUpload");
        Assert.True(report.GetProperty("linkNavHidden").GetBoolean(), "The page offered the gallery to an upload link's holder.");
        foreach (var (name, bytes) in files)
        {
            // The file sent through the upload link is the owner's: their key reads it.
            var id = name == link.GetProperty("name").GetString() ? link.GetProperty("id") : uploads.TryGetProperty(name, out var found) ? found : default;
            Assert.True(id.ValueKind == JsonValueKind.String, $"{name} was not uploaded.");
            var stored = await fixture.Http.GetByteArrayAsync($"/media/{id.GetString()}/content");
            Assert.True(Payloads.Sha256(bytes) == Payloads.Sha256(stored), $"{name} (item {id}) differs from the file: {stored.Length} bytes of {bytes.Length}.");
        }

        // The large file went in several PATCH requests; the network drop really broke requests; thumbnails appeared.
        Assert.True(report.GetProperty("largePatches").GetInt32() >= 8, $"The 64 MiB file took {report.GetProperty("largePatches")} PATCH requests.");
        Assert.True(report.GetProperty("offlineFailures").GetInt32() > 0, "No request failed while the browser was offline: the drop tested nothing.");
        Assert.True(report.GetProperty("thumbnailsShown").GetInt32() >= batch.Count);
        Assert.True(report.GetProperty("reloadProgressAtReload").GetDouble() < 100, "The page was reloaded after its upload had finished: the resume tested nothing.");
        // After the reload the same upload went on from the service's offset: nothing stored was sent again.
        Assert.True(report.GetProperty("reloadOffsetAfterReload").GetInt64() > 0, "The service held nothing of the reloaded file: the resume tested nothing.");
        Assert.True(report.GetProperty("reloadSameUpload").GetBoolean(), "After the reload the file was uploaded anew instead of resumed.");
        Assert.True(report.GetProperty("reloadFirstOffsetAfter").GetInt64() >= report.GetProperty("reloadOffsetAfterReload").GetInt64(),
            $"After the reload the upload started again at {report.GetProperty("reloadFirstOffsetAfter")}, below the service's offset {report.GetProperty("reloadOffsetAfterReload")}.");

        // The title edited on the item page is stored; search finds the item by it, and by tag.
        var edited = report.GetProperty("edited");
        var item = await fixture.Http.GetFromJsonAsync<JsonElement>($"/media/{edited.GetProperty("id").GetString()}");
        Assert.Equal(edited.GetProperty("title").GetString(), item.GetProperty("title").GetString());
        Assert.Contains("browser-test", item.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.True(report.GetProperty("foundBySearch").GetBoolean(), "The gallery's search did not find the item by its new title.");
        Assert.True(report.GetProperty("foundByTag").GetBoolean(), "The gallery's search did not find the item by its tag.");

        // The webhook made in the page: a bad URL refused in words, the secret shown once with its warning and the one
        // that signs, listed, its delivery shown and redelivered (same webhook-id and body), then deleted.
        var webhook = report.GetProperty("webhook");
        Assert.StartsWith("Not created: URL: An http or https URL", webhook.GetProperty("refusal").GetString());
        Assert.StartsWith("whsec_", webhook.GetProperty("secret").GetString());
        Assert.Contains("it is not shown again", webhook.GetProperty("secretNote").GetString());
        Assert.True(webhook.GetProperty("secretFocused").GetBoolean(), "The secret's box did not take the focus.");
        Assert.Equal("Enabled", webhook.GetProperty("listedStatus").GetString());
        Assert.True(webhook.GetProperty("signedWithShownSecret").GetBoolean(), "The delivery was not signed with the secret the page showed.");
        Assert.StartsWith("HTTP 204", webhook.GetProperty("lastAttempt").GetString());
        Assert.True(webhook.GetProperty("redeliveredSameId").GetBoolean(), "The redelivery did not carry the same webhook-id and body.");
        Assert.Contains("redelivery", webhook.GetProperty("redeliveryAttempt").GetString());
        Assert.NotEqual("None yet", webhook.GetProperty("lastSuccess").GetString());
        Assert.True(webhook.GetProperty("secretGone").GetBoolean(), "The secret stayed on the page after \"I have copied it\".");
        Assert.True(webhook.GetProperty("deletedInPage").GetBoolean());
        using (var gone = await fixture.Http.GetAsync($"/webhooks/{webhook.GetProperty("id").GetString()}"))
        {
            Assert.Equal(System.Net.HttpStatusCode.NotFound, gone.StatusCode);
        }

        var listed = await fixture.Http.GetFromJsonAsync<JsonElement>("/webhooks");
        Assert.DoesNotContain(webhook.GetProperty("url").GetString(), listed.EnumerateArray().Select(s => s.GetProperty("url").GetString()));
        Assert.True(report.GetProperty("linkWebhooksHidden").GetBoolean(), "The page offered the webhooks view to an upload link's holder.");
    }

    private static string Figure(JsonElement report, string name) =>
        report.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble().ToString("0", System.Globalization.CultureInfo.InvariantCulture) : "?";

    private string Write(Dictionary<string, byte[]> files, string name, byte[] bytes)
    {
        files[name] = bytes;
        var path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
