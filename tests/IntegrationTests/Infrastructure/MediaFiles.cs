using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace MediaService.IntegrationTests.Infrastructure;

/// <summary>Media made at test time with ffmpeg's lavfi sources, and the waiting and reading around processing.</summary>
public static class MediaFiles
{
    private static readonly string Folder = Directory.CreateTempSubdirectory("media-corpus-").FullName;

    /// <summary>Runs ffmpeg with <paramref name="arguments"/> (inputs and options) writing <paramref name="name"/>; returns the bytes.</summary>
    public static async Task<byte[]> FfmpegAsync(string arguments, string name)
    {
        var output = Path.Combine(Folder, $"{Guid.NewGuid():N}-{name}");
        var start = new ProcessStartInfo("ffmpeg", $"-v error -nostdin -y {arguments} \"{output}\"")
        {
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("ffmpeg did not start.");
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ffmpeg {arguments} failed: {errors}");
        }

        var bytes = await File.ReadAllBytesAsync(output);
        File.Delete(output);
        return bytes;
    }

    /// <summary>A test-pattern video with a tone: <paramref name="seconds"/> long, <paramref name="size"/> (WxH).</summary>
    public static Task<byte[]> VideoAsync(string name, string size = "320x240", double seconds = 2, string codecs = "-c:v libx264 -preset ultrafast -c:a aac", string extra = "") =>
        FfmpegAsync($"-f lavfi -i testsrc=duration={seconds}:size={size}:rate=25 -f lavfi -i sine=frequency=440:duration={seconds} {codecs} -shortest {extra}", name);

    /// <summary>A tone of <paramref name="seconds"/>, in the format the name's extension and <paramref name="codec"/> say.</summary>
    public static Task<byte[]> AudioAsync(string name, string codec, double seconds = 1.5) =>
        FfmpegAsync($"-f lavfi -i sine=frequency=660:duration={seconds} {codec}", name);

    /// <summary>
    /// Marks an MP4's video track as shown turned a quarter (as phones record portrait video): its track header's
    /// display matrix becomes a 90° rotation. (ffmpeg 5.1 has no option that writes one.)
    /// </summary>
    public static byte[] RotateQuarter(byte[] mp4)
    {
        var rotated = (byte[])mp4.Clone();
        var at = 0;
        while ((at = rotated.AsSpan(at).IndexOf("tkhd"u8) is var i and >= 0 ? at + i : -1) >= 0)
        {
            // Version 0 track header: the 36-byte matrix starts 40 bytes after the type; width follows it.
            var matrix = at + 4 + 40;
            if (System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(rotated.AsSpan(matrix + 36)) != 0)
            {
                uint[] quarter = [0, 0x00010000, 0, 0xFFFF0000, 0, 0, 0, 0, 0x40000000];
                for (var k = 0; k < quarter.Length; k++)
                {
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(rotated.AsSpan(matrix + (4 * k)), quarter[k]);
                }

                return rotated;
            }

            at += 4;
        }

        throw new InvalidOperationException("No video track header found.");
    }

    /// <summary>Uploads bytes through POST /media/upload and returns the item id.</summary>
    public static async Task<long> UploadAsync(HttpClient http, byte[] body, string fileName, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        using var response = await http.PostAsync($"/media/upload?filename={Uri.EscapeDataString(fileName)}", content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    /// <summary>
    /// Waits until the item's processing has ended, polling the metadata as a client should: with If-None-Match, so
    /// that an unchanged item costs a 304 and no body. Returns the final metadata.
    /// </summary>
    public static async Task<JsonElement> ProcessedAsync(HttpClient http, long id, TimeSpan? timeout = null)
    {
        string? etag = null;
        JsonElement last = default;
        var notModified = 0;
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(90));
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/media/{id}/metadata");
            if (etag is not null)
            {
                request.Headers.IfNoneMatch.Add(EntityTagHeaderValue.Parse(etag));
            }

            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, cts.Token);
            }
            catch (HttpRequestException)
            {
                await Task.Delay(200, cts.Token);
                continue;
            }

            using (response)
            {
                if (response.StatusCode == HttpStatusCode.NotModified)
                {
                    notModified++;
                    Assert.Equal(etag, response.Headers.ETag?.ToString());
                }
                else if (response.StatusCode == HttpStatusCode.OK)
                {
                    etag = response.Headers.ETag?.ToString();
                    last = await response.Content.ReadFromJsonAsync<JsonElement>(cts.Token);
                    if (last.TryGetProperty("processing", out var p) && p.GetProperty("status").GetString() != "processing")
                    {
                        return last;
                    }
                }
            }

            try
            {
                await Task.Delay(150, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Processing of {id} did not end; last metadata {last} ({notModified} polls answered 304).");
            }
        }
    }

    /// <summary>The processing object of an item's metadata.</summary>
    public static JsonElement Processing(JsonElement metadata) => metadata.GetProperty("processing");

    /// <summary>The names of an item's renditions.</summary>
    public static string[] RenditionNames(JsonElement metadata) =>
        [.. Processing(metadata).GetProperty("renditions").EnumerateArray().Select(r => r.GetProperty("name").GetString()!)];

    /// <summary>Runs ffprobe on bytes and returns its JSON (streams and format).</summary>
    public static async Task<JsonElement> ProbeAsync(byte[] file)
    {
        var path = Path.Combine(Folder, Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(path, file);
        try
        {
            var start = new ProcessStartInfo("ffprobe", $"-v error -print_format json -show_streams -show_format \"{path}\"")
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(start)!;
            var json = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            return JsonDocument.Parse(json).RootElement.Clone();
        }
        finally
        {
            File.Delete(path);
        }
    }
}
