using MediaService.Grains.Interfaces;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace MediaService.Grains.Processing;

/// <summary>
/// Validates an image with ImageSharp and makes its renditions within a budget checked before decoding: the frames
/// are counted from the file's structure (<see cref="ImageFrames"/>) and the size read from its header, and frames,
/// pixels, frames × pixels and the memory decoding needs are checked against the limits. Then only the first frame
/// is decoded, under the job's memory budget (<see cref="JobMemoryBudget"/>) and time limit; it is scaled down to
/// the largest rendition at once, auto-oriented, stripped of EXIF, XMP and IPTC (never GPS kept); <c>thumb</c> (fits
/// 256 px) and <c>display</c> (fits 1280 px) are written as WebP and JPEG. Animated images within the budget get still
/// renditions of their first frame; past it they are rejected with the reason.
/// </summary>
public sealed class ImageProcessor(ProcessingOptions options)
{
    // One template configuration and one buffer pool for every job of the silo: each job allocates through a budget
    // of its own over the pool, the pool keeps a bounded amount between jobs, and one thread per job (the silo's slots
    // are the parallelism, and the grains keep the other cores).
    /// <summary>The silo's pool of image buffers, that every job's budget draws from.</summary>
    public static readonly MemoryAllocator SharedPool = MemoryAllocator.Create(new MemoryAllocatorOptions { MaximumPoolSizeMegabytes = 64 });

    private readonly Configuration _template = new(
        new SixLabors.ImageSharp.Formats.Jpeg.JpegConfigurationModule(),
        new SixLabors.ImageSharp.Formats.Png.PngConfigurationModule(),
        new SixLabors.ImageSharp.Formats.Gif.GifConfigurationModule(),
        new SixLabors.ImageSharp.Formats.Webp.WebpConfigurationModule(),
        new SixLabors.ImageSharp.Formats.Bmp.BmpConfigurationModule(),
        new SixLabors.ImageSharp.Formats.Tiff.TiffConfigurationModule())
    {
        MemoryAllocator = SharedPool,
        MaxDegreeOfParallelism = 1,
    };

    /// <summary>The renditions of an image: name and the box it fits in.</summary>
    public static readonly IReadOnlyList<(string Name, int Box)> Sizes = [("thumb", 256), ("display", 1280)];

    private static readonly JpegEncoder Jpeg = new() { Quality = 82 };

    // 8-bit RGB, or RGBA when some pixel is not opaque, whatever the source was (a 1-bit grayscale PNG keeps its
    // format in its metadata otherwise, and heif-enc reads 8-bit RGB(A) and 16-bit PNGs; an AVIF gets an alpha plane
    // only when its PNG has one).
    private static readonly SixLabors.ImageSharp.Formats.Png.PngEncoder LosslessRgb = new()
    {
        CompressionLevel = SixLabors.ImageSharp.Formats.Png.PngCompressionLevel.BestSpeed,
        ColorType = SixLabors.ImageSharp.Formats.Png.PngColorType.Rgb,
        BitDepth = SixLabors.ImageSharp.Formats.Png.PngBitDepth.Bit8,
    };

    private static readonly SixLabors.ImageSharp.Formats.Png.PngEncoder LosslessRgba = new()
    {
        CompressionLevel = SixLabors.ImageSharp.Formats.Png.PngCompressionLevel.BestSpeed,
        ColorType = SixLabors.ImageSharp.Formats.Png.PngColorType.RgbWithAlpha,
        BitDepth = SixLabors.ImageSharp.Formats.Png.PngBitDepth.Bit8,
    };

    private static bool IsOpaque(Image<Rgba32> image)
    {
        var opaque = true;
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height && opaque; y++)
            {
                foreach (var pixel in rows.GetRowSpan(y))
                {
                    if (pixel.A != 255)
                    {
                        opaque = false;
                        break;
                    }
                }
            }
        });
        return opaque;
    }
    private static readonly WebpEncoder Webp = new() { Quality = 80, FileFormat = WebpFileFormatType.Lossy };

    /// <summary>The memory budget of one job, in bytes.</summary>
    public long BudgetBytes => options.ImageMemoryMegabytes * 1024L * 1024;

    /// <summary>Processes the image at <paramref name="path"/>, writing renditions into <paramref name="outputDirectory"/>.</summary>
    public ProcessedMedia Process(string path, SniffedType sniffed, string outputDirectory, CancellationToken cancellationToken, ProcessingSteps? steps = null) =>
        Process(path, sniffed, outputDirectory, NewBudget(), cancellationToken, steps);

    /// <summary>The memory budget of one new job, over the silo's pool.</summary>
    public JobMemoryBudget NewBudget() => new(SharedPool, BudgetBytes);

    /// <summary>Processes the image at <paramref name="path"/> under the given memory budget.</summary>
    public ProcessedMedia Process(
        string path, SniffedType sniffed, string outputDirectory, JobMemoryBudget budget, CancellationToken cancellationToken, ProcessingSteps? steps = null)
    {
        steps ??= new ProcessingSteps();
        var configuration = budget.Configure(_template);
        var facts = new MediaFacts { Kind = MediaKind.Image, DetectedType = sniffed.MediaType, Format = sniffed.Format };

        IImageInfo? info;
        IImageFormat? format;
        ImageFrames.Count frames;
        try
        {
            using var identify = steps.Step("identify");
            frames = ImageFrames.Read(path, sniffed.Format, options.MaxImageFrames);
            if (frames.Frames > options.MaxImageFrames)
            {
                throw new MediaRejectedException(
                    $"The image has more than {options.MaxImageFrames} frames; the limit is {options.MaxImageFrames}.", facts with { FrameCount = (int)frames.Frames });
            }

            facts = facts with { FrameCount = (int)frames.Frames };
            if (frames.Animated && sniffed.Format == "webp")
            {
                throw new MediaRejectedException("Animated WebP images are not accepted (the decoder reads still WebP only).", facts);
            }

            info = Image.Identify(configuration, path, out format);
        }
        catch (Exception ex) when (IsDecodeError(ex) || IsOverBudget(ex))
        {
            throw new MediaRejectedException($"Not a valid {sniffed.Format.ToUpperInvariant()} image: {ex.Message}", facts, ex);
        }

        if (info is null || format is null || !format.MimeTypes.Contains(sniffed.MediaType, StringComparer.OrdinalIgnoreCase))
        {
            throw new MediaRejectedException($"The bytes start like {sniffed.MediaType}, but the image decoder does not read them as such.", facts);
        }

        facts = facts with { Width = info.Width, Height = info.Height };
        CheckLimits(info.Width, info.Height, frames, facts);
        if (sniffed.Format == "jpeg" && !JpegStructure.HasEndOfImage(path))
        {
            throw new MediaRejectedException("The JPEG is truncated: its image data has no end-of-image marker.", facts);
        }

        cancellationToken.ThrowIfCancellationRequested();
        Image<Rgba32> image;
        using (var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            limit.CancelAfter(options.ImageTimeout);
            try
            {
                using var decode = steps.Step("decode");
                using var file = File.OpenRead(path);
                image = FirstFrameDecoder(configuration, format).Decode<Rgba32>(configuration, file, limit.Token);
            }
            catch (Exception ex) when (ex is InvalidMemoryOperationException || ex.InnerException is InvalidMemoryOperationException)
            {
                throw new MediaRejectedException(
                    $"Decoding the image needs more memory than its budget of {options.ImageMemoryMegabytes} MiB allows.", facts, ex);
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new MediaRejectedException($"Decoding the image took longer than the {options.ImageTimeout} limit.", facts);
            }
            catch (Exception ex) when (IsDecodeError(ex))
            {
                throw new MediaRejectedException($"The image is corrupt: {ex.Message}", facts, ex);
            }
        }

        return Render(image, facts, outputDirectory, cancellationToken, steps, autoOrient: true);
    }

    /// <summary>
    /// Makes the renditions of an image decoded elsewhere (by libheif, in the sandbox) and written as
    /// <paramref name="decodedPng"/>: loaded under the job's budget, stripped, never turned by EXIF (the decoder applied
    /// the file's own rotation and mirroring).
    /// </summary>
    public ProcessedMedia ProcessDecoded(
        string decodedPng, MediaFacts facts, string outputDirectory, JobMemoryBudget budget, CancellationToken cancellationToken, ProcessingSteps steps)
    {
        var configuration = budget.Configure(_template);
        Image<Rgba32> image;

        // The decoder's picture is checked like any image before it is loaded (the boxes' size and the picture's could
        // disagree).
        var decodedInfo = Image.Identify(configuration, decodedPng, out _) ?? throw new MediaRejectedException("The decoder wrote no picture.", facts);
        CheckLimits(decodedInfo.Width, decodedInfo.Height, new ImageFrames.Count(1, false), facts);
        try
        {
            using var decode = steps.Step("load");
            using var file = File.OpenRead(decodedPng);
            image = new SixLabors.ImageSharp.Formats.Png.PngDecoder().Decode<Rgba32>(configuration, file, cancellationToken);
        }
        catch (Exception ex) when (ex is InvalidMemoryOperationException || ex.InnerException is InvalidMemoryOperationException)
        {
            throw new MediaRejectedException(
                $"Decoding the image needs more memory than its budget of {options.ImageMemoryMegabytes} MiB allows.", facts, ex);
        }

        return Render(image, facts with { Width = image.Width, Height = image.Height }, outputDirectory, cancellationToken, steps, autoOrient: false);
    }

    // The decoded first frame to renditions: EXIF facts, scaled down to the largest rendition at once, oriented (by EXIF
    // when asked), stripped, written.
    private ProcessedMedia Render(Image<Rgba32> image, MediaFacts facts, string outputDirectory, CancellationToken cancellationToken, ProcessingSteps steps, bool autoOrient)
    {
        try
        {
            return RenderWithin(image, facts, outputDirectory, cancellationToken, steps, autoOrient);
        }
        catch (Exception ex) when (IsOverBudget(ex))
        {
            throw new MediaRejectedException(
                $"Rendering the image needs more memory than its budget of {options.ImageMemoryMegabytes} MiB allows.", facts, ex);
        }
    }

    private static bool IsOverBudget(Exception ex) =>
        ex is InvalidMemoryOperationException || ex.InnerException is InvalidMemoryOperationException;

    private ProcessedMedia RenderWithin(Image<Rgba32> image, MediaFacts facts, string outputDirectory, CancellationToken cancellationToken, ProcessingSteps steps, bool autoOrient)
    {
        using (image)
        {
            var exif = image.Metadata.ExifProfile;
            if (exif is not null && autoOrient)
            {
                facts = facts with
                {
                    CameraMake = Clean(exif.GetValue(ExifTag.Make)?.Value),
                    CameraModel = Clean(exif.GetValue(ExifTag.Model)?.Value),
                    TakenAt = Clean(exif.GetValue(ExifTag.DateTimeOriginal)?.Value),
                };
            }

            if (autoOrient)
            {
                // The size as displayed: EXIF orientations 5 to 8 turn the picture a quarter.
                var turned = exif?.GetValue(ExifTag.Orientation)?.Value is >= 5 and <= 8;
                facts = facts with { Width = turned ? image.Height : image.Width, Height = turned ? image.Width : image.Height };
            }

            using (steps.Step("orient"))
            {
                // Scaled down to the largest rendition first, so that orienting and every rendition work on that
                // size and the full-size frame is released at once.
                var largest = Sizes.Max(size => size.Box);
                var (width, height) = Fit(image.Width, image.Height, largest, largest);
                if (width != image.Width || height != image.Height)
                {
                    image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(width, height), Mode = ResizeMode.Stretch, Sampler = KnownResamplers.Lanczos3 }));
                }

                if (autoOrient)
                {
                    image.Mutate(x => x.AutoOrient());
                }

                StripMetadata(image);
            }

            while (image.Frames.Count > 1)
            {
                image.Frames.RemoveFrame(1);
            }

            cancellationToken.ThrowIfCancellationRequested();
            using var renditions = steps.Step("renditions");
            return new ProcessedMedia(facts, WriteRenditions(image, outputDirectory, Sizes, webp: true, lossless: options.AvifRenditions));
        }
    }

    /// <summary>The camera facts of an EXIF block (never its GPS position): make, model and time taken.</summary>
    public static MediaFacts CameraFacts(MediaFacts facts, byte[]? exif)
    {
        if (exif is null)
        {
            return facts;
        }

        try
        {
            var profile = new ExifProfile(exif);
            return facts with
            {
                CameraMake = Clean(profile.GetValue(ExifTag.Make)?.Value),
                CameraModel = Clean(profile.GetValue(ExifTag.Model)?.Value),
                TakenAt = Clean(profile.GetValue(ExifTag.DateTimeOriginal)?.Value),
            };
        }
        catch (Exception ex) when (ex is ArgumentException or IndexOutOfRangeException or InvalidOperationException or NotSupportedException or OverflowException)
        {
            return facts; // EXIF that does not parse says nothing
        }
    }

    // The decoder of the format, set to decode the first frame only where the format has several.
    private static IImageDecoder FirstFrameDecoder(Configuration configuration, IImageFormat format) => format switch
    {
        SixLabors.ImageSharp.Formats.Gif.GifFormat => new SixLabors.ImageSharp.Formats.Gif.GifDecoder { DecodingMode = FrameDecodingMode.First },
        SixLabors.ImageSharp.Formats.Tiff.TiffFormat => new SixLabors.ImageSharp.Formats.Tiff.TiffDecoder { DecodingMode = FrameDecodingMode.First },
        _ => configuration.ImageFormatsManager.FindDecoder(format),
    };

    /// <summary>The folder, inside the output folder, where lossless copies of the renditions go for the AVIF encoder.</summary>
    public const string LosslessFolder = "lossless";

    /// <summary>Writes an image, already oriented and stripped, at each size as JPEG (and WebP) into a folder; with
    /// <paramref name="lossless"/>, also a PNG of each size into <see cref="LosslessFolder"/> (not a rendition).</summary>
    public static IReadOnlyList<RenditionFile> WriteRenditions(
        Image<Rgba32> image, string outputDirectory, IEnumerable<(string Name, int Box)> sizes, bool webp, bool lossless = false)
    {
        var files = new List<RenditionFile>();
        foreach (var (name, box) in sizes)
        {
            var (width, height) = Fit(image.Width, image.Height, box, box);
            using var resized = image.Clone(x =>
            {
                if (width != image.Width || height != image.Height)
                {
                    x.Resize(new ResizeOptions { Size = new Size(width, height), Mode = ResizeMode.Stretch, Sampler = KnownResamplers.Lanczos3 });
                }
            });
            StripMetadata(resized);
            if (lossless)
            {
                resized.Save(Path.Combine(Directory.CreateDirectory(Path.Combine(outputDirectory, LosslessFolder)).FullName, $"{name}.png"),
                    IsOpaque(resized) ? LosslessRgb : LosslessRgba);
            }

            if (webp)
            {
                var webpPath = Path.Combine(outputDirectory, $"{name}.webp");
                resized.Save(webpPath, Webp);
                files.Add(new RenditionFile($"{name}.webp", webpPath, "image/webp", width, height));
            }

            // JPEG has no transparency: flatten onto white rather than let transparent pixels turn black.
            resized.Mutate(x => x.BackgroundColor(Color.White));
            var jpegPath = Path.Combine(outputDirectory, $"{name}.jpg");
            resized.Save(jpegPath, Jpeg);
            files.Add(new RenditionFile($"{name}.jpg", jpegPath, "image/jpeg", width, height));
        }

        return files;
    }

    /// <summary>The size that fits <paramref name="width"/> × <paramref name="height"/> in a box, keeping the aspect
    /// ratio and never enlarging.</summary>
    public static (int Width, int Height) Fit(int width, int height, int boxWidth, int boxHeight)
    {
        var scale = Math.Min(1.0, Math.Min((double)boxWidth / width, (double)boxHeight / height));
        return (Math.Max(1, (int)Math.Round(width * scale)), Math.Max(1, (int)Math.Round(height * scale)));
    }

    /// <summary>Removes EXIF (GPS included), XMP and IPTC from the image and every frame.</summary>
    public static void StripMetadata(Image image)
    {
        image.Metadata.ExifProfile = null;
        image.Metadata.XmpProfile = null;
        image.Metadata.IptcProfile = null;
        foreach (var frame in image.Frames)
        {
            frame.Metadata.ExifProfile = null;
            frame.Metadata.XmpProfile = null;
            frame.Metadata.IptcProfile = null;
        }
    }

    private void CheckLimits(int width, int height, ImageFrames.Count frames, MediaFacts facts)
    {
        if (width > options.MaxImageWidth || height > options.MaxImageHeight)
        {
            throw new MediaRejectedException(
                $"The image is {width}x{height} pixels; the limit is {options.MaxImageWidth}x{options.MaxImageHeight}.", facts);
        }

        var pixels = (long)width * height;
        if (pixels > options.MaxImagePixels)
        {
            throw new MediaRejectedException(
                $"The image has {pixels} pixels per frame; the limit is {options.MaxImagePixels}.", facts);
        }

        if (frames.Frames * pixels > options.MaxAnimationPixels)
        {
            throw new MediaRejectedException(
                $"The image has {frames.Frames} frames of {width}x{height}: {frames.Frames * pixels} pixels in all; the limit is {options.MaxAnimationPixels}.", facts);
        }

        // The first frame, four bytes a pixel, is the least decoding holds; the budget must leave room for it.
        var needed = pixels * 4;
        if (needed > BudgetBytes)
        {
            throw new MediaRejectedException(
                $"Decoding the image needs at least {needed / (1024 * 1024)} MiB, more than its budget of {options.ImageMemoryMegabytes} MiB.", facts);
        }
    }

    private static string? Clean(string? value)
    {
        var trimmed = value?.Trim().TrimEnd('\0').Trim();
        return string.IsNullOrEmpty(trimmed) ? null : trimmed.Length > 100 ? trimmed[..100] : trimmed;
    }

    private static bool IsDecodeError(Exception ex) =>
        ex is ImageFormatException or InvalidImageContentException or UnknownImageFormatException or NotSupportedException
            or InvalidDataException or EndOfStreamException or IndexOutOfRangeException or ArgumentException;
}
