using MediaService.Grains.Interfaces;

namespace MediaService.Grains.Processing;

/// <summary>
/// HEIC, HEIF and AVIF photos. The boxes are read first (<see cref="HeifStructure"/>): the primary image's size as
/// displayed, its grid tiles, an image sequence's frames, bit depth, alpha, HDR and EXIF; they are checked against
/// the image budget before anything is decoded. libheif's tools then run in the sandbox (prlimit memory and CPU
/// limits, a time limit, fixed arguments, the job's own copy): <c>heif-info</c> confirms the file, <c>heif-convert</c>
/// decodes the primary image (rotation and mirroring applied) to a PNG, which the ImageSharp pipeline stripes,
/// scales and renders like any other image. Camera facts come from the EXIF, never its GPS position.
/// </summary>
public sealed class HeifProcessor(ProcessingOptions options, FfmpegSandbox sandbox, ImageProcessor images)
{
    /// <summary>Processes the HEIF file at <paramref name="path"/>.</summary>
    public async Task<ProcessedMedia> ProcessAsync(
        string path, SniffedType sniffed, string outputDirectory, CancellationToken cancellationToken, ProcessingSteps? steps = null)
    {
        steps ??= new ProcessingSteps();
        var name = sniffed.Format.ToUpperInvariant();
        var facts = new MediaFacts { Kind = MediaKind.Image, DetectedType = sniffed.MediaType, Format = sniffed.Format };
        HeifInfo info;
        using (steps.Step("identify"))
        {
            try
            {
                info = HeifStructure.Read(path);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Whatever the boxes make the reader throw is the file's fault, never a reason to try again.
                throw new MediaRejectedException($"Not a valid {name} image: {ex.Message}", facts, ex);
            }
        }

        var (width, height) = info.Displayed;
        facts = ImageProcessor.CameraFacts(facts with
        {
            Width = width == 0 ? null : width,
            Height = height == 0 ? null : height,
            FrameCount = (int)Math.Min(int.MaxValue, Math.Max(1, info.Frames)),
            BitDepth = info.BitDepth,
            HasAlpha = info.Alpha,
            Hdr = info.Hdr,
        }, info.Exif);
        Check(info, facts);

        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        using (var confirm = steps.Step("confirm"))
        {
            var (code, output) = await RunAsync("heif-info", [path], folder, cancellationToken);
            if (code != 0)
            {
                throw new MediaRejectedException($"Not a valid {name} image: the decoder could not read it ({LastLine(output)}).", facts);
            }
        }

        // heif-convert decodes every top-level image (decoded-1.png, decoded-2.png, ... when there are several, in the
        // file's item order); the primary one is kept.
        var target = Path.Combine(folder, "decoded.png");
        var decoded = info.TopLevel.Count > 1 ? Path.Combine(folder, $"decoded-{info.PrimaryIndex + 1}.png") : target;
        using (steps.Step("decode"))
        {
            var (code, output) = await RunAsync("heif-convert", ["--quiet", path, target], folder, cancellationToken);
            if (code != 0 || !File.Exists(decoded))
            {
                throw new MediaRejectedException($"The {name} image could not be decoded: {LastLine(output)}", facts);
            }
        }

        return await Task.Factory.StartNew(
            () => images.ProcessDecoded(decoded, facts, outputDirectory, images.NewBudget(), cancellationToken, steps),
            cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>
    /// Adds AVIF renditions (<c>thumb.avif</c>, <c>display.avif</c>) to an image's, encoded by heif-enc in the sandbox
    /// from the lossless copies the renditions were written with. Without libheif's tools there are none.
    /// </summary>
    public async Task<ProcessedMedia> AddAvifAsync(ProcessedMedia processed, string outputDirectory, CancellationToken cancellationToken, ProcessingSteps steps)
    {
        var lossless = Path.Combine(outputDirectory, ImageProcessor.LosslessFolder);
        if (!options.AvifRenditions || !sandbox.HeifAvailable || !Directory.Exists(lossless))
        {
            return processed;
        }

        using var avif = steps.Step("avif");
        var files = processed.Files.ToList();
        foreach (var jpeg in processed.Files.Where(f => f.ContentType == "image/jpeg").ToArray())
        {
            var stem = Path.GetFileNameWithoutExtension(jpeg.Name);
            var source = Path.Combine(lossless, $"{stem}.png");
            var target = Path.Combine(outputDirectory, $"{stem}.avif");
            if (!File.Exists(source))
            {
                continue;
            }

            var (code, _) = await RunAsync("heif-enc",
                ["-A", "-q", options.AvifQuality.ToString(System.Globalization.CultureInfo.InvariantCulture), "-p", "speed=8", "-o", target, source],
                outputDirectory, cancellationToken);
            if (code != 0 || !File.Exists(target))
            {
                continue; // an extra form: the item is ready with its WebP and JPEG renditions, and negotiation serves those
            }

            files.Add(new RenditionFile($"{stem}.avif", target, "image/avif", jpeg.Width, jpeg.Height));
        }

        return processed with { Files = files };
    }

    // The budget, from the boxes alone.
    private void Check(HeifInfo info, MediaFacts facts)
    {
        if (info.Width == 0 || info.Height == 0)
        {
            throw new MediaRejectedException(
                info.Frames > 0 ? "An image sequence without a still primary image is not accepted." : "The primary image names no size (no 'ispe').", facts);
        }

        var (width, height) = info.Displayed;
        if (width > options.MaxImageWidth || height > options.MaxImageHeight)
        {
            throw new MediaRejectedException($"The image is {width}x{height} pixels; the limit is {options.MaxImageWidth}x{options.MaxImageHeight}.", facts);
        }

        var pixels = (long)width * height;
        if (pixels > options.MaxImagePixels)
        {
            throw new MediaRejectedException($"The image has {pixels} pixels per frame; the limit is {options.MaxImagePixels}.", facts);
        }

        // Every top-level image is decoded: each within the pixel limit, and all of them together within the
        // animation budget, like the frames of a sequence.
        if (info.TopLevel.Count > options.MaxImageFrames)
        {
            throw new MediaRejectedException($"The file holds {info.TopLevel.Count} images; the limit is {options.MaxImageFrames}.", facts);
        }

        if (info.TopLevel.Any(image => (long)image.Width * image.Height > options.MaxImagePixels))
        {
            throw new MediaRejectedException($"An image of the file has more than the limit of {options.MaxImagePixels} pixels.", facts);
        }

        var allPixels = info.TopLevel.Sum(image => (long)image.Width * image.Height);
        if (info.TopLevel.Count > 1 && allPixels > options.MaxAnimationPixels)
        {
            throw new MediaRejectedException(
                $"The file's {info.TopLevel.Count} images have {allPixels} pixels in all; the limit is {options.MaxAnimationPixels}.", facts);
        }

        if (info.Tiles > options.MaxImageTiles)
        {
            throw new MediaRejectedException($"The image is a grid of {info.Tiles} tiles; the limit is {options.MaxImageTiles}.", facts);
        }

        if (info.Frames > options.MaxImageFrames)
        {
            throw new MediaRejectedException($"The image sequence has {info.Frames} frames; the limit is {options.MaxImageFrames}.", facts);
        }

        var framePixels = info.SequenceWidth > 0 ? (long)info.SequenceWidth * info.SequenceHeight : pixels;
        if (info.Frames * framePixels > options.MaxAnimationPixels)
        {
            throw new MediaRejectedException(
                $"The image sequence has {info.Frames} frames: {info.Frames * framePixels} pixels in all; the limit is {options.MaxAnimationPixels}.", facts);
        }

        if (pixels * 4 > images.BudgetBytes)
        {
            throw new MediaRejectedException(
                $"Decoding the image needs at least {pixels * 4 / (1024 * 1024)} MiB, more than its budget of {options.ImageMemoryMegabytes} MiB.", facts);
        }
    }

    private async Task<(int Code, string Output)> RunAsync(string tool, string[] arguments, string folder, CancellationToken cancellationToken)
    {
        try
        {
            return await sandbox.RunAsync(tool, arguments, folder, options.ImageTimeout, cancellationToken);
        }
        catch (TimeoutException ex)
        {
            throw new MediaRejectedException($"Decoding the image took longer than the {options.ImageTimeout} limit ({ex.Message}).");
        }
    }

    private static string LastLine(string text)
    {
        var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "no output";
        return line.Length > 300 ? line[..300] : line;
    }
}
