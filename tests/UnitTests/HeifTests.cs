using MediaService.Grains.Interfaces;
using MediaService.Grains.Processing;
using MediaService.Tests;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit.Abstractions;

namespace MediaService.UnitTests;

/// <summary>HEIC and AVIF: the sniffer's brands, the boxes read before decoding, and the processor with libheif's real
/// tools in the sandbox (installed by scripts/env.sh).</summary>
public sealed class HeifTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("heif-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static byte[] Ftyp(string major, params string[] compatible) =>
        [0, 0, 0, (byte)(16 + (4 * compatible.Length)), .. "ftyp"u8, .. System.Text.Encoding.ASCII.GetBytes(major), 0, 0, 0, 0,
            .. compatible.SelectMany(System.Text.Encoding.ASCII.GetBytes), .. new byte[32]];

    [Theory]
    [InlineData("heic", new string[0], "image/heic")]
    [InlineData("heix", new string[0], "image/heic")]
    [InlineData("hevc", new string[0], "image/heic")]
    [InlineData("hevx", new string[0], "image/heic")]
    [InlineData("heim", new string[0], "image/heic")]
    [InlineData("heis", new string[0], "image/heic")]
    [InlineData("mif1", new[] { "heic" }, "image/heic")]
    [InlineData("msf1", new[] { "hevc" }, "image/heic")]
    [InlineData("avif", new string[0], "image/avif")]
    [InlineData("avis", new string[0], "image/avif")]
    [InlineData("mif1", new[] { "miaf", "avif" }, "image/avif")]
    [InlineData("msf1", new[] { "avis" }, "image/avif")]
    [InlineData("mif1", new string[0], "image/heif")]
    [InlineData("isom", new[] { "iso2", "mp41" }, "video/mp4")]
    public void EveryBrandIsSniffed(string major, string[] compatible, string type)
    {
        Assert.Equal(type, MediaSniffer.Sniff(Ftyp(major, compatible))?.MediaType);
    }

    [Fact]
    public void TheBoxesOfARealHeicAndAvifGiveSizeAndExif()
    {
        foreach (var avif in new[] { false, true })
        {
            var file = MediaCorpus.HeifEncode(MediaCorpus.JpegWithGps(640, 480), avif);
            var info = HeifStructure.Read(new MemoryStream(file));

            Assert.Equal(avif ? "avif" : "heic", info.MajorBrand);
            Assert.Equal((640, 480), info.Displayed);
            Assert.Equal(1, info.Images);
            Assert.Equal(0, info.Tiles);
            Assert.NotNull(info.Exif);
            var facts = ImageProcessor.CameraFacts(new MediaFacts(), info.Exif);
            Assert.Equal(("TestCam", "Model 7", "2026:11:24 18:30:00"), (facts.CameraMake, facts.CameraModel, facts.TakenAt));
        }
    }

    [Fact]
    public async Task ARotatedHeicIsMeasuredAndRenderedAsDisplayed()
    {
        var file = MediaCorpus.RotatedHeif(MediaCorpus.HeifEncode(MediaCorpus.JpegWithGps(640, 480), avif: false));
        var info = HeifStructure.Read(new MemoryStream(file));
        Assert.Equal((90, 640, 480), (info.Rotation, info.Width, info.Height));
        Assert.Equal((480, 640), info.Displayed);

        var (result, rejection) = await ProcessAsync(file);

        Assert.Null(rejection);
        Assert.Equal((480, 640), (result!.Facts.Width, result.Facts.Height));
        Assert.Equal((192, 256), (result.Files.Single(f => f.Name == "thumb.jpg").Width, result.Files.Single(f => f.Name == "thumb.jpg").Height));
    }

    [Fact]
    public void AGridCountsItsTilesAndASequenceItsFrames()
    {
        var grid = HeifStructure.Read(new MemoryStream(MediaCorpus.HeicGridHeader(64, 64)));
        Assert.Equal(4096, grid.Tiles);
        Assert.Equal((1024, 1024), grid.Displayed);
        Assert.Equal(1, grid.Images);

        var sequence = HeifStructure.Read(new MemoryStream(MediaCorpus.AvifSequenceHeader(20_000)));
        Assert.Equal(20_000, sequence.Frames);
        Assert.Equal((64, 64), (sequence.SequenceWidth, sequence.SequenceHeight));
    }

    [Fact]
    public void ARepeatedTileCountsEachTime()
    {
        Assert.Equal(4096, HeifStructure.Read(new MemoryStream(MediaCorpus.HeicGridHeader(64, 64, oneTileRepeated: true))).Tiles);
    }

    [Fact]
    public async Task AFileOfTwoImagesGivesItsPrimaryOne()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_folder, "two")).FullName;
        await File.WriteAllBytesAsync(Path.Combine(folder, "a.png"), MediaCorpus.TransparentPng(640, 480));
        await File.WriteAllBytesAsync(Path.Combine(folder, "b.png"), MediaCorpus.TransparentPng(320, 240));
        var start = new System.Diagnostics.ProcessStartInfo("heif-enc", ["-q", "50", "-o", Path.Combine(folder, "two.heic"), Path.Combine(folder, "a.png"), Path.Combine(folder, "b.png")])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using (var process = System.Diagnostics.Process.Start(start)!)
        {
            await process.WaitForExitAsync();
        }

        var file = await File.ReadAllBytesAsync(Path.Combine(folder, "two.heic"));
        var info = HeifStructure.Read(new MemoryStream(file));
        Assert.Equal(2, info.Images);
        Assert.Equal([(640, 480), (320, 240)], info.TopLevel);

        var (result, rejection) = await ProcessAsync(file);

        Assert.Null(rejection);
        Assert.Equal((640, 480), (result!.Facts.Width, result.Facts.Height));
    }

    [Fact]
    public async Task BoxSizesPastEveryRangeAreRejectedNotRetried()
    {
        // A 64-bit box size near long.MaxValue after the ftyp: the end-of-file check must not overflow.
        byte[] huge = [.. Ftyp("heic")[..16], 0, 0, 0, 1, .. "meta"u8, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xF0, .. new byte[32]];
        huge[3] = 16;
        Assert.Throws<InvalidDataException>(() => HeifStructure.Read(new MemoryStream(huge)));

        var (_, rejection) = await ProcessAsync(huge);
        Assert.Contains("Not a valid HEIC image", rejection);
    }

    [Fact]
    public void ABrokenStructureIsInvalidData()
    {
        var file = MediaCorpus.HeifEncode(MediaCorpus.JpegWithGps(64, 48), avif: false);
        Assert.Throws<InvalidDataException>(() => HeifStructure.Read(new MemoryStream(file[..40])));
        Assert.Throws<InvalidDataException>(() => HeifStructure.Read(new MemoryStream(Ftyp("heic"))));
    }

    private async Task<(ProcessedMedia? Result, string? Rejection)> ProcessAsync(byte[] file, ProcessingOptions? options = null)
    {
        options ??= new ProcessingOptions();
        var job = Directory.CreateDirectory(Path.Combine(_folder, Guid.NewGuid().ToString("N"))).FullName;
        var path = Path.Combine(job, "original");
        await File.WriteAllBytesAsync(path, file);
        var sniffed = MediaSniffer.Sniff(file.AsSpan(0, Math.Min(file.Length, MediaSniffer.HeaderLength)))!;
        var sandbox = new FfmpegSandbox(options, _folder);
        Assert.True(sandbox.HeifAvailable, sandbox.MissingHeif);
        var images = new ImageProcessor(options);
        var heif = new HeifProcessor(options, sandbox, images);
        var outputFolder = Directory.CreateDirectory(Path.Combine(job, "out")).FullName;
        try
        {
            var steps = new ProcessingSteps();
            var result = await heif.AddAvifAsync(await heif.ProcessAsync(path, sniffed, outputFolder, CancellationToken.None, steps), outputFolder, CancellationToken.None, steps);
            output.WriteLine(string.Join(", ", steps.All.Select(s => $"{s.Name} {s.Seconds:0.000}")));
            return (result, null);
        }
        catch (MediaRejectedException rejected)
        {
            return (null, rejected.Message);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task APhoneStylePhotoIsProcessedLikeAJpegWithoutItsGps(bool avif)
    {
        var (result, rejection) = await ProcessAsync(MediaCorpus.HeifEncode(MediaCorpus.JpegWithGps(1600, 1200), avif));

        Assert.Null(rejection);
        var facts = result!.Facts;
        Assert.Equal((1600, 1200), (facts.Width, facts.Height));
        Assert.Equal(("TestCam", "Model 7"), (facts.CameraMake, facts.CameraModel));
        Assert.Equal(8, facts.BitDepth);
        Assert.False(facts.HasAlpha);
        Assert.Equal(["display.avif", "display.jpg", "display.webp", "thumb.avif", "thumb.jpg", "thumb.webp"], result.Files.Select(f => f.Name).Order());
        foreach (var file in result.Files.Where(f => f.ContentType != "image/avif"))
        {
            using var rendition = Image.Load<Rgba32>(file.Path);
            Assert.Null(rendition.Metadata.ExifProfile);
        }

        Assert.Equal((1280, 960), (result.Files.Single(f => f.Name == "display.avif").Width, result.Files.Single(f => f.Name == "display.avif").Height));
        Assert.True(MediaSniffer.Sniff(File.ReadAllBytes(result.Files.Single(f => f.Name == "thumb.avif").Path))?.MediaType == "image/avif");
    }

    [Fact]
    public async Task EveryImageGetsAvifRenditionsEvenFromAOneBitPng()
    {
        // ImageSharp would write the lossless copy in its source's format (1-bit grayscale), which heif-enc does not read.
        var options = new ProcessingOptions();
        var job = Directory.CreateDirectory(Path.Combine(_folder, Guid.NewGuid().ToString("N"))).FullName;
        var path = Path.Combine(job, "original");
        var png = MediaCorpus.BlackPng(8, 8);
        await File.WriteAllBytesAsync(path, png);
        var images = new ImageProcessor(options);
        var heif = new HeifProcessor(options, new FfmpegSandbox(options, _folder), images);
        var outputFolder = Directory.CreateDirectory(Path.Combine(job, "out")).FullName;
        var steps = new ProcessingSteps();

        var result = await heif.AddAvifAsync(images.Process(path, MediaSniffer.Sniff(png)!, outputFolder, CancellationToken.None, steps), outputFolder, CancellationToken.None, steps);

        Assert.Contains(result.Files, f => f.Name == "thumb.avif");
    }

    [Fact]
    public async Task AlphaIsKept()
    {
        var (result, rejection) = await ProcessAsync(MediaCorpus.HeifEncode(MediaCorpus.TransparentPng(200, 100), avif: true));

        Assert.Null(rejection);
        Assert.True(result!.Facts.HasAlpha);
        using var webp = Image.Load<Rgba32>(result.Files.Single(f => f.Name == "thumb.webp").Path);
        Assert.True(webp[5, 50].A < 32, $"alpha {webp[5, 50].A} on the transparent half");
    }

    [Fact]
    public async Task HostileHeifFilesAreRejectedWithTheirReason()
    {
        var real = MediaCorpus.HeifEncode(MediaCorpus.JpegWithGps(640, 480), avif: false);
        var cases = new (string Name, byte[] File, string Reason)[]
        {
            ("truncated", MediaCorpus.Truncated(real, 0.6), "could not"),
            ("huge ispe", MediaCorpus.WithImageSize(real, 100_000, 100_000), "100000x100000"),
            ("4096 tiles", MediaCorpus.HeicGridHeader(64, 64), "grid of 4096 tiles"),
            ("20000 frames", MediaCorpus.AvifSequenceHeader(20_000), "20000 frames"),
        };
        foreach (var (name, file, reason) in cases)
        {
            var (_, rejection) = await ProcessAsync(file);
            output.WriteLine($"{name}: {rejection}");
            Assert.True(rejection?.Contains(reason, StringComparison.OrdinalIgnoreCase) == true, $"{name}: {rejection}");
        }
    }
}
