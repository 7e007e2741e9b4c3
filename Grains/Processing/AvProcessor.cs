using System.Globalization;
using FFMpegCore;
using FFMpegCore.Exceptions;
using MediaService.Grains.Interfaces;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace MediaService.Grains.Processing;

/// <summary>
/// Probes video and audio with ffprobe and makes renditions with ffmpeg (through FFMpegCore), always on the job's
/// local copy, with the demuxer forced from the sniffed type, only the <c>file</c> protocol allowed, a time limit and
/// the sandbox's memory limit. Video: a poster frame and a thumbnail (JPEG and WebP) and <c>web.mp4</c> (H.264/AAC,
/// at most 1280x720 or 720x1280, fast start, metadata stripped). Audio: <c>audio.m4a</c> (AAC, metadata stripped).
/// </summary>
public sealed class AvProcessor(ProcessingOptions options, FfmpegSandbox sandbox)
{
    /// <summary>The still renditions of a video: name and the box each fits in.</summary>
    public static readonly IReadOnlyList<(string Name, int Box)> StillSizes = [("poster", 1280), ("thumb", 256)];

    /// <summary>Processes the video or audio at <paramref name="path"/>, writing renditions into <paramref name="outputDirectory"/>.</summary>
    public async Task<ProcessedMedia> ProcessAsync(
        string path, SniffedType sniffed, string outputDirectory, CancellationToken cancellationToken, ProcessingSteps? steps = null)
    {
        steps ??= new ProcessingSteps();
        var ff = sandbox.Options(outputDirectory);
        var input = $"-protocol_whitelist file -f {sniffed.Demuxer}";
        var facts = new MediaFacts { Kind = sniffed.Kind, DetectedType = sniffed.MediaType, Format = sniffed.Format };

        IMediaAnalysis analysis;
        using (var limit = Limit(cancellationToken))
        using (steps.Step("probe"))
        {
            try
            {
                analysis = await FFProbe.AnalyseAsync(path, ff, input, limit.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new MediaRejectedException($"Probing took longer than the {options.FfmpegTimeout} limit.", facts);
            }
            catch (Exception ex) when (ex is FFMpegException or FFProbeException or FormatException or System.Text.Json.JsonException)
            {
                throw new MediaRejectedException($"Not a valid {sniffed.Format.ToUpperInvariant()} file: ffprobe could not read it ({FirstLine(ex.Message)}).", facts, ex);
            }
        }

        var video = analysis.VideoStreams.FirstOrDefault(v => !IsAttachedPicture(v));
        var audio = analysis.PrimaryAudioStream;
        if (video is null && audio is null)
        {
            throw new MediaRejectedException($"The {sniffed.Format.ToUpperInvariant()} file holds no audio or video stream.", facts);
        }

        var kind = video is not null ? MediaKind.Video : MediaKind.Audio;
        var (width, height) = video is null ? (0, 0) : Displayed(video);
        facts = facts with
        {
            Kind = kind,
            DetectedType = TypeFor(sniffed, kind),
            DurationSeconds = analysis.Duration > TimeSpan.Zero ? Math.Round(analysis.Duration.TotalSeconds, 3) : null,
            BitRate = analysis.Format.BitRate is > 0 ? (long)analysis.Format.BitRate.Value : null,
            VideoCodec = video?.CodecName,
            AudioCodec = audio?.CodecName,
            Width = video is null ? null : width,
            Height = video is null ? null : height,
            FrameRate = video is null || double.IsNaN(video.AverageFrameRate) ? null : Math.Round(video.AverageFrameRate, 3),
            Rotation = video?.Rotation,
            SampleRate = audio?.SampleRateHz,
            Channels = audio?.Channels,
        };

        if (video is not null && (long)width * height > options.MaxVideoPixels)
        {
            throw new MediaRejectedException($"The video is {width}x{height}; the limit is {options.MaxVideoPixels} pixels per frame.", facts);
        }

        if (video is not null && EstimatedFrames(analysis, video) is { } frames && frames * width * height > options.MaxVideoFramePixels)
        {
            throw new MediaRejectedException(
                $"The video has about {frames:0} frames of {width}x{height}: {frames * width * height:0} pixels in all; the limit is {options.MaxVideoFramePixels}.", facts);
        }

        if (!options.AllowedTypeSet().Contains(facts.DetectedType!))
        {
            throw new MediaRejectedException($"{facts.DetectedType} is not an accepted type.", facts);
        }

        var files = new List<RenditionFile>();
        if (video is not null)
        {
            using (steps.Step("stills"))
            {
                files.AddRange(await StillsAsync(path, input, facts, ff, outputDirectory, cancellationToken));
            }

            var (webWidth, webHeight) = WebSize(width, height);
            var web = Path.Combine(outputDirectory, "web.mp4");
            using var transcode = steps.Step("transcode");
            await RunAsync(
                FFMpegArguments.FromFileInput(path, true, o => o.WithCustomArgument(input)).OutputToFile(web, true, o => o.WithCustomArgument(
                    $"-map 0:v:0 -map 0:a:0? -sn -dn -map_metadata -1 -map_chapters -1 -vf scale={webWidth}:{webHeight},setsar=1,format=yuv420p "
                    + "-c:v libx264 -preset veryfast -crf 23 -fpsmax 60 -c:a aac -b:a 128k -ac 2 -movflags +faststart -f mp4")),
                "the web rendition", ff, cancellationToken);
            files.Add(new RenditionFile("web.mp4", web, "video/mp4", webWidth, webHeight));
        }
        else
        {
            var m4a = Path.Combine(outputDirectory, "audio.m4a");
            using var transcode = steps.Step("transcode");
            await RunAsync(
                FFMpegArguments.FromFileInput(path, true, o => o.WithCustomArgument(input)).OutputToFile(m4a, true, o => o.WithCustomArgument(
                    "-map 0:a:0 -vn -sn -dn -map_metadata -1 -map_chapters -1 -c:a aac -b:a 128k -movflags +faststart -f mp4")),
                "the audio rendition", ff, cancellationToken);
            files.Add(new RenditionFile("audio.m4a", m4a, "audio/mp4", null, null));
        }

        return new ProcessedMedia(facts, files);
    }

    /// <summary>The web rendition's size: the displayed size fitted in 1280x720 (720x1280 when portrait), even numbers.</summary>
    public static (int Width, int Height) WebSize(int width, int height)
    {
        var (w, h) = width >= height ? ImageProcessor.Fit(width, height, 1280, 720) : ImageProcessor.Fit(width, height, 720, 1280);
        return (Math.Max(2, w - (w % 2)), Math.Max(2, h - (h % 2)));
    }

    private async Task<IReadOnlyList<RenditionFile>> StillsAsync(
        string path, string input, MediaFacts facts, FFOptions ff, string outputDirectory, CancellationToken cancellationToken)
    {
        // A frame a second in (or a third of the way through a shorter video), fitted to the largest still's box by
        // ffmpeg; ImageSharp then writes the stills from it like an image's renditions.
        var at = facts.DurationSeconds is { } duration && duration < 3 ? duration / 3 : 1.0;
        var (width, height) = ImageProcessor.Fit(facts.Width!.Value, facts.Height!.Value, 1280, 1280);
        var frame = Path.Combine(outputDirectory, "frame.png");
        await RunAsync(
            FFMpegArguments.FromFileInput(path, true, o => o.WithCustomArgument($"{input} -ss {at.ToString("0.###", CultureInfo.InvariantCulture)}"))
                .OutputToFile(frame, true, o => o.WithCustomArgument($"-map 0:v:0 -frames:v 1 -vf scale={width}:{height},setsar=1 -map_metadata -1 -f image2 -c:v png")),
            "the poster frame", ff, cancellationToken);
        if (!File.Exists(frame))
        {
            throw new ProcessingFailedException("ffmpeg produced no poster frame.");
        }

        using var image = Image.Load<Rgba32>(frame);
        ImageProcessor.StripMetadata(image);
        return ImageProcessor.WriteRenditions(image, outputDirectory, StillSizes, webp: true);
    }

    private async Task RunAsync(FFMpegArgumentProcessor command, string what, FFOptions ff, CancellationToken cancellationToken)
    {
        using var limit = Limit(cancellationToken);
        FFMpegResult result;
        try
        {
            result = await command.CancellableThrough(limit.Token).ProcessAsynchronously(throwOnError: false, ff);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ProcessingFailedException($"Making {what} took longer than the {options.FfmpegTimeout} limit.");
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (result.Cancelled || limit.IsCancellationRequested)
        {
            throw new ProcessingFailedException($"Making {what} took longer than the {options.FfmpegTimeout} limit.");
        }

        if (!result.Success)
        {
            throw new ProcessingFailedException($"ffmpeg could not make {what} (exit code {result.ExitCode}): {LastLines(string.Join('\n', result.StandardError))}");
        }
    }

    private CancellationTokenSource Limit(CancellationToken cancellationToken)
    {
        var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(options.FfmpegTimeout);
        return limit;
    }

    // Frames as the probe tells them: the stream's duration (else the file's) times its average frame rate.
    private static double? EstimatedFrames(IMediaAnalysis analysis, VideoStream video)
    {
        var seconds = video.Duration > TimeSpan.Zero ? video.Duration.TotalSeconds : analysis.Duration.TotalSeconds;
        var rate = video.AverageFrameRate;
        return seconds > 0 && double.IsFinite(rate) && rate > 0 ? seconds * rate : null;
    }

    private static (int Width, int Height) Displayed(VideoStream video)
    {
        var (w, h) = (video.Width ?? 0, video.Height ?? 0);
        return Math.Abs(video.Rotation) % 180 == 90 ? (h, w) : (w, h);
    }

    private static bool IsAttachedPicture(VideoStream stream) =>
        stream.Disposition?.TryGetValue("attached_pic", out var attached) == true && attached;

    // A container that holds sound only is audio whatever its first bytes suggested, and the reverse.
    internal static string TypeFor(SniffedType sniffed, MediaKind kind) => (sniffed.Format, kind) switch
    {
        ("mp4" or "mov" or "3gp", MediaKind.Audio) => "audio/mp4",
        ("m4a", MediaKind.Video) => "video/mp4",
        ("webm", MediaKind.Audio) => "audio/webm",
        ("matroska", MediaKind.Audio) => "audio/x-matroska",
        ("ogg", MediaKind.Video) => "video/ogg",
        _ => sniffed.MediaType,
    };

    private static string FirstLine(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? text;

    private static string LastLines(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var tail = string.Join(" | ", lines.TakeLast(3));
        return tail.Length > 400 ? tail[^400..] : tail;
    }
}
