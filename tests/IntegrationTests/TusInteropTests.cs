using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests;

/// <summary>The real tus-js-client (pinned in tests/interop) uploading through the real stack.</summary>
[Collection(MediaServiceCollection.Name)]
public sealed class TusInteropTests(MediaServiceFixture fixture) : IDisposable
{
    private const int Mib = 1024 * 1024;
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"tus-interop-{Guid.NewGuid():N}.bin");
    private readonly byte[] _body = Payloads.Random(12 * Mib + 3, seed: 77);

    public void Dispose() => File.Delete(_file);

    [Theory]
    [InlineData("whole file in one PATCH", "{}")]
    [InlineData("1 MiB chunks", "{\"chunkSize\":1048576}")]
    [InlineData("5 MiB + 1 byte chunks", "{\"chunkSize\":5242881}")]
    [InlineData("deferred length", "{\"deferLength\":true,\"chunkSize\":1048576}")]
    [InlineData("aborted midway, resumed by a new client from the stored URL", "{\"chunkSize\":1048576,\"abortAt\":3000000}")]
    [InlineData("parallelUploads: 4 (concatenation)", "{\"parallelUploads\":4}")]
    [InlineData("IETF draft-03, whole file", "{\"protocol\":\"ietf-draft-03\"}")]
    [InlineData("IETF draft-03, 1 MiB chunks", "{\"protocol\":\"ietf-draft-03\",\"chunkSize\":1048576}")]
    [InlineData("IETF draft-05, 5 MiB + 1 byte chunks", "{\"protocol\":\"ietf-draft-05\",\"chunkSize\":5242881}")]
    [InlineData("IETF draft-05, aborted and resumed", "{\"protocol\":\"ietf-draft-05\",\"chunkSize\":1048576,\"abortAt\":3000000}")]
    [InlineData("parallelUploads: 4 in 1 MiB chunks", "{\"parallelUploads\":4,\"chunkSize\":1048576}")]
    public async Task TusJsClientUploadsAreStoredByteIdentical(string scenario, string options)
    {
        var id = await UploadAsync(options);

        var content = await fixture.Http.GetByteArrayAsync($"/media/{id}/content");
        Assert.True(Payloads.Sha256(_body) == Payloads.Sha256(content), $"{scenario}: the stored content differs from the file.");
    }

    [Fact]
    public async Task ANonAsciiFileNameSurvivesTheRoundTrip()
    {
        var id = await UploadAsync("{\"metadata\":{\"filename\":\"été 🎉 写真.jpg\",\"filetype\":\"image/jpeg\"}}");

        var item = await fixture.Http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata");
        Assert.Equal("été 🎉 写真.jpg", item.GetProperty("fileName").GetString());
        Assert.Equal("image/jpeg", item.GetProperty("contentType").GetString());
        Assert.Equal("stored", item.GetProperty("status").GetString());
    }

    private async Task<long> UploadAsync(string options)
    {
        await File.WriteAllBytesAsync(_file, _body);
        var script = Path.Combine(ServiceProcess.RepositoryRoot, "tests", "interop", "upload.mjs");
        var start = new ProcessStartInfo("node")
        {
            ArgumentList = { script, new Uri(fixture.Frontend.Address, "/files/").ToString(), _file, options },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["MEDIA_API_KEY"] = fixture.Frontend.UserKey },
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"tus-js-client did not finish within 2 minutes: {await stderr}");
        }

        Assert.True(process.ExitCode == 0, $"tus-js-client failed: {await stderr}");
        var url = JsonDocument.Parse(await stdout).RootElement.GetProperty("url").GetString()!;
        return Tus.IdOf(new Uri(url).AbsolutePath);
    }
}
