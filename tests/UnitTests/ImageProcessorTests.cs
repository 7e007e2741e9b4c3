using System.Text;
using MediaService.Grains.Interfaces;
using MediaService.Grains.Processing;
using MediaService.Tests;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;

namespace MediaService.UnitTests;

public sealed class ImageProcessorTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("image-processor-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private (ProcessedMedia Result, string Output) Process(byte[] file, ProcessingOptions? options = null)
    {
        var path = Path.Combine(_folder, $"in-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, file);
        var output = Directory.CreateDirectory(Path.Combine(_folder, $"out-{Guid.NewGuid():N}")).FullName;
        var sniffed = MediaSniffer.Sniff(file.AsSpan(0, Math.Min(file.Length, MediaSniffer.HeaderLength)))
            ?? throw new InvalidOperationException("The test file is not recognized.");
        return (new ImageProcessor(options ?? new ProcessingOptions()).Process(path, sniffed, output, CancellationToken.None), output);
    }

    private string Rejected(byte[] file, ProcessingOptions? options = null) =>
        Assert.Throws<MediaRejectedException>(() => Process(file, options)).Message;

    [Fact]
    public void AJpegIsOrientedMeasuredAndStrippedOfEveryExifFieldGpsIncluded()
    {
        var original = MediaCorpus.JpegWithGps(600, 300, orientation: 6);
        Assert.NotNull(SixLabors.ImageSharp.Image.Identify(original).Metadata.ExifProfile!.GetValue(ExifTag.GPSLatitude)); // the input has a position

        var (result, _) = Process(original);

        var facts = result.Facts;
        Assert.Equal(MediaKind.Image, facts.Kind);
        Assert.Equal("image/jpeg", facts.DetectedType);
        Assert.Equal((300, 600), (facts.Width, facts.Height)); // orientation 6: a quarter turn
        Assert.Equal(("TestCam", "Model 7", "2026:11:24 18:30:00"), (facts.CameraMake, facts.CameraModel, facts.TakenAt));
        Assert.Equal(["thumb.webp", "thumb.jpg", "display.webp", "display.jpg"], result.Files.Select(f => f.Name));
        foreach (var file in result.Files)
        {
            var bytes = File.ReadAllBytes(file.Path);
            var info = SixLabors.ImageSharp.Image.Identify(bytes);
            Assert.Null(info.Metadata.ExifProfile);
            Assert.Null(info.Metadata.XmpProfile);
            Assert.Null(info.Metadata.IptcProfile);
            Assert.Equal(-1, bytes.AsSpan().IndexOf("Exif\0\0"u8));
            Assert.Equal(-1, bytes.AsSpan().IndexOf("TestCam"u8));
            Assert.Equal((file.Width, file.Height), (info.Width, info.Height));
            Assert.True(info.Height > info.Width, $"{file.Name} is oriented");
        }

        Assert.Equal((128, 256), (result.Files[0].Width, result.Files[0].Height));
        Assert.Equal((300, 600), (result.Files[2].Width, result.Files[2].Height)); // never enlarged
    }

    [Fact]
    public void ALargeImageFitsTheRenditionBoxes()
    {
        var (result, _) = Process(MediaCorpus.Image(3000, 2000, new JpegEncoder()));

        Assert.Equal((256, 171), (result.Files[0].Width, result.Files[0].Height));
        Assert.Equal((1280, 853), (result.Files[2].Width, result.Files[2].Height));
    }

    [Fact]
    public void AnAnimatedGifCountsItsFramesAndItsRenditionsAreStills()
    {
        var (result, _) = Process(MediaCorpus.AnimatedGif(100, 80, frames: 3));

        Assert.Equal(3, result.Facts.FrameCount);
        Assert.All(result.Files, f => Assert.Equal(1, SixLabors.ImageSharp.Image.Load(f.Path).Frames.Count));
    }

    [Fact]
    public void TransparencyIsKeptInWebpAndFlattenedOntoWhiteInJpeg()
    {
        var (result, _) = Process(MediaCorpus.TransparentPng(64, 64));

        using var jpeg = SixLabors.ImageSharp.Image.Load<Rgba32>(result.Files.Single(f => f.Name == "thumb.jpg").Path);
        Assert.True(jpeg[2, 32].R > 240 && jpeg[2, 32].G > 240 && jpeg[2, 32].B > 240, $"flattened pixel {jpeg[2, 32]}");
        using var webp = SixLabors.ImageSharp.Image.Load<Rgba32>(result.Files.Single(f => f.Name == "thumb.webp").Path);
        Assert.True(webp[2, 32].A < 16, $"transparent pixel {webp[2, 32]}");
    }

    public static TheoryData<string, byte[]> OtherFormats => new()
    {
        { "image/webp", MediaCorpus.Image(40, 30, new WebpEncoder()) },
        { "image/bmp", MediaCorpus.Image(40, 30, new BmpEncoder()) },
        { "image/tiff", MediaCorpus.Image(40, 30, new TiffEncoder()) },
        { "image/png", MediaCorpus.BlackPng(40, 30) },
    };

    [Theory]
    [MemberData(nameof(OtherFormats))]
    public void EveryAcceptedImageFormatIsRead(string type, byte[] file)
    {
        var (result, _) = Process(file);

        Assert.Equal(type, result.Facts.DetectedType);
        Assert.Equal((40, 30), (result.Facts.Width, result.Facts.Height));
        Assert.Equal(4, result.Files.Count);
    }

    [Fact]
    public void AHugeImageIsRejectedFromItsHeaderWithoutDecoding()
    {
        // The file holds one row of pixels: only a rejection from its header, before any decode, names its size.
        var reason = Rejected(MediaCorpus.BlackPng(50_000, 50_000, withPixels: false));

        Assert.Contains("50000x50000", reason);
        Assert.Contains("limit", reason);
    }

    [Fact]
    public void TooManyPixelsAreRejectedBeforeDecoding()
    {
        var reason = Rejected(MediaCorpus.BlackPng(9000, 9000, withPixels: false)); // the defaults: 64 million pixels at most

        Assert.Contains("81000000 pixels", reason);
        Assert.Contains("64000000", reason);
    }

    [Fact]
    public void ASmallFileThatDecodesToHundredsOfMegabytesHitsTheMemoryCap()
    {
        var bomb = MediaCorpus.BlackPng(9000, 9000); // about 10 KB; 324 MB as RGBA
        Assert.True(bomb.Length < 64 * 1024, $"{bomb.Length} bytes");

        var reason = Rejected(bomb, new ProcessingOptions { MaxImagePixels = 100_000_000, ImageMemoryMegabytes = 128 });

        Assert.Contains("128 MiB", reason);
    }

    [Fact]
    public void ATruncatedJpegIsRejected()
    {
        var reason = Rejected(MediaCorpus.Truncated(MediaCorpus.Image(400, 300, new JpegEncoder()), 0.6));

        Assert.Contains("truncated", reason);
    }

    [Fact]
    public void BytesThatStartLikeAnImageButAreNotOneAreRejected()
    {
        byte[] fake = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, .. Encoding.ASCII.GetBytes("not really a png at all")];

        var reason = Rejected(fake);

        Assert.Contains("PNG", reason, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void AJpegWithAPageAfterItsEndIsAnImageAndItsRenditionsCarryNoPage()
    {
        var (result, _) = Process(MediaCorpus.JpegThenHtml());

        Assert.Equal("image/jpeg", result.Facts.DetectedType);
        Assert.All(result.Files, f => Assert.Equal(-1, File.ReadAllBytes(f.Path).AsSpan().IndexOf("<script"u8)));
    }

    [Fact]
    public void JpegStructureTellsCompleteFromTruncated()
    {
        var jpeg = MediaCorpus.JpegWithGps(200, 100);
        string Write(byte[] bytes)
        {
            var path = Path.Combine(_folder, Guid.NewGuid().ToString("N"));
            File.WriteAllBytes(path, bytes);
            return path;
        }

        Assert.True(JpegStructure.HasEndOfImage(Write(jpeg)));
        Assert.True(JpegStructure.HasEndOfImage(Write(MediaCorpus.JpegThenHtml())));
        Assert.False(JpegStructure.HasEndOfImage(Write(jpeg[..^2])));
        Assert.False(JpegStructure.HasEndOfImage(Write(MediaCorpus.Truncated(jpeg, 0.5))));
        Assert.False(JpegStructure.HasEndOfImage(Write([0xFF, 0xD8])));
    }

    [Theory]
    [InlineData(1920, 1080, 1280, 720)]
    [InlineData(1080, 1920, 720, 1280)]
    [InlineData(640, 480, 640, 480)]
    [InlineData(3840, 1600, 1280, 532)]
    [InlineData(321, 241, 320, 240)]
    public void TheWebRenditionIsAtMost720pWithEvenSides(int width, int height, int expectedWidth, int expectedHeight) =>
        Assert.Equal((expectedWidth, expectedHeight), AvProcessor.WebSize(width, height));
}
