using System.Buffers.Binary;
using MediaService.Grains.Processing;
using MediaService.Tests;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.PixelFormats;
using Xunit.Abstractions;

namespace MediaService.UnitTests;

/// <summary>
/// The image job's budget: frames counted from the structure, frames × pixels and memory checked before decoding, only
/// the first frame decoded, and every buffer of the job counted (the peak is measured by the job's allocator).
/// </summary>
public sealed class ImageBudgetTests(ITestOutputHelper output) : IDisposable
{
    private const long MiB = 1024 * 1024;
    private readonly string _folder = Directory.CreateTempSubdirectory("image-budget-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(byte[] file)
    {
        var path = Path.Combine(_folder, $"in-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, file);
        return path;
    }

    // Runs a job under a budget of its own and returns the result (or the rejection) with the peak the job held.
    private (ProcessedMedia? Result, string? Rejection, long PeakBytes) Run(byte[] file, ProcessingOptions? options = null)
    {
        options ??= new ProcessingOptions();
        var path = Write(file);
        var sniffed = MediaSniffer.Sniff(file.AsSpan(0, Math.Min(file.Length, MediaSniffer.HeaderLength)))!;
        var outputFolder = Directory.CreateDirectory(Path.Combine(_folder, $"out-{Guid.NewGuid():N}")).FullName;
        var processor = new ImageProcessor(options);
        var budget = new JobMemoryBudget(MemoryAllocator.Default, processor.BudgetBytes);
        try
        {
            var result = processor.Process(path, sniffed, outputFolder, budget, CancellationToken.None);
            output.WriteLine($"ready; peak {budget.PeakBytes / (double)MiB:0.0} MiB");
            return (result, null, budget.PeakBytes);
        }
        catch (MediaRejectedException rejected)
        {
            output.WriteLine($"rejected ({rejected.Message}); peak {budget.PeakBytes / (double)MiB:0.0} MiB");
            return (null, rejected.Message, budget.PeakBytes);
        }
        finally
        {
            Assert.Equal(0, budget.HeldBytes); // every buffer of the job went back
        }
    }

    public static TheoryData<string, byte[], long> Bombs() => new()
    {
        { "gif", MediaCorpus.GifBomb(6000, 6000, 30), 30 },
        { "tiff", MediaCorpus.TiffBomb(6000, 6000, 30), 30 },
        { "apng", MediaCorpus.ApngBomb(6000, 6000, 30), 30 },
        { "webp", MediaCorpus.WebpBomb(6000, 6000, 30), 30 },
    };

    [Theory]
    [MemberData(nameof(Bombs))]
    public void FramesAreCountedFromTheStructureAlone(string format, byte[] file, long frames)
    {
        var count = ImageFrames.Read(Write(file), format == "apng" ? "png" : format, 10_000);

        Assert.Equal(frames, count.Frames);
        Assert.True(count.Animated);
    }

    [Fact]
    public void AStillImageIsOneFrameAndAnOrdinaryAnimationItsOwnCount()
    {
        Assert.Equal(new ImageFrames.Count(1, false), ImageFrames.Read(Write(MediaCorpus.BlackPng(40, 30)), "png", 10_000));
        Assert.Equal(new ImageFrames.Count(3, true), ImageFrames.Read(Write(MediaCorpus.AnimatedGif(40, 30, 3)), "gif", 10_000));
        Assert.Equal(new ImageFrames.Count(1, false), ImageFrames.Read(Write(MediaCorpus.Image(40, 30, new SixLabors.ImageSharp.Formats.Tiff.TiffEncoder())), "tiff", 10_000));
    }

    [Fact]
    public void CountingStopsPastTheLimitAndAtALoopingDirectoryChain()
    {
        Assert.Equal(6, ImageFrames.Read(Write(MediaCorpus.GifBomb(10, 10, 1000)), "gif", 5).Frames);

        var looping = MediaCorpus.TiffBomb(10, 10, 2);
        BinaryPrimitives.WriteUInt32LittleEndian(looping.AsSpan(8 + 114 + 2 + (9 * 12)), 8); // the second IFD points back at the first
        Assert.Equal(2, ImageFrames.Read(Write(looping), "tiff", 10_000).Frames);
    }

    [Theory]
    [InlineData("gif")]
    [InlineData("tiff")]
    [InlineData("apng")]
    public void AMultiFrameBombIsRejectedByFramesTimesPixelsBeforeAnyDecoding(string format)
    {
        var file = format switch
        {
            "gif" => MediaCorpus.GifBomb(6000, 6000, 30),
            "tiff" => MediaCorpus.TiffBomb(6000, 6000, 30),
            _ => MediaCorpus.ApngBomb(6000, 6000, 30),
        };

        var (_, rejection, peak) = Run(file);

        Assert.Contains("30 frames of 6000x6000: 1080000000 pixels in all", rejection);
        Assert.Contains("500000000", rejection);
        Assert.True(peak < MiB, $"held {peak} bytes before rejecting");
    }

    [Fact]
    public void AnAnimatedWebpIsRejectedWithItsReason()
    {
        var (_, rejection, peak) = Run(MediaCorpus.WebpBomb(6000, 6000, 30));

        Assert.Contains("Animated WebP", rejection);
        Assert.True(peak < MiB, $"held {peak} bytes before rejecting");
    }

    [Theory]
    [InlineData("gif")]
    [InlineData("tiff")]
    public void AnAnimationWithinTheBudgetDecodesItsFirstFrameOnly(string format)
    {
        // 30 frames of 2000x2000 (16 MB each as RGBA): all of them would hold 480 MB.
        var file = format == "gif" ? MediaCorpus.GifBomb(2000, 2000, 30) : MediaCorpus.TiffBomb(2000, 2000, 30);
        var frame = 2000L * 2000 * 4;

        var (result, rejection, peak) = Run(file);

        Assert.Null(rejection);
        Assert.Equal(30, result!.Facts.FrameCount);
        Assert.Equal((2000, 2000), (result.Facts.Width, result.Facts.Height));
        Assert.True(peak < 2 * frame, $"peak {peak} bytes; one frame is {frame}");
        using var display = Image.Load<Rgba32>(result.Files.Single(f => f.Name == "display.jpg").Path);
        Assert.Equal(1, display.Frames.Count);
    }

    [Fact]
    public void APhotoIsDecodedOnceAndScaledDownAtOnce()
    {
        // A 12-megapixel JPEG: 48 MB as RGBA. Decoding, orienting and both renditions stay under two frames' worth.
        var file = MediaCorpus.JpegWithGps(4000, 3000, orientation: 6);
        var frame = 4000L * 3000 * 4;

        var (result, rejection, peak) = Run(file);

        Assert.Null(rejection);
        Assert.Equal((3000, 4000), (result!.Facts.Width, result.Facts.Height)); // orientation 6 turns it a quarter
        Assert.True(peak < 2 * frame, $"peak {peak} bytes; one frame is {frame}");
        var display = result.Files.Single(f => f.Name == "display.jpg");
        Assert.Equal((960, 1280), (display.Width, display.Height));
    }

    [Fact]
    public void AnImageWhoseFirstFrameAloneExceedsTheBudgetIsRejectedBeforeDecoding()
    {
        var (_, rejection, peak) = Run(MediaCorpus.BlackPng(6000, 6000), new ProcessingOptions { ImageMemoryMegabytes = 100 });

        Assert.Contains("at least 137 MiB", rejection);
        Assert.Contains("budget of 100 MiB", rejection);
        Assert.True(peak < MiB, $"held {peak} bytes before rejecting");
    }

    [Fact]
    public void TheBudgetRefusesTheAllocationThatWouldPassItAndCountsReleases()
    {
        var budget = new JobMemoryBudget(MemoryAllocator.Default, 10 * MiB);
        var first = budget.Allocate<byte>((int)(6 * MiB));
        Assert.Throws<InvalidMemoryOperationException>(() => budget.Allocate<byte>((int)(5 * MiB)));
        Assert.Equal(6 * MiB, budget.HeldBytes);
        first.Dispose();
        first.Dispose();
        using var second = budget.Allocate<Rgba32>((int)(2 * MiB)); // 8 MiB
        Assert.Equal(8 * MiB, budget.HeldBytes);
        Assert.Equal(8 * MiB, budget.PeakBytes);
    }

    [Fact]
    public void AnImageLargerThanOneBlockIsHeldAsSeveralBlocksWithinTheBudget()
    {
        var budget = new JobMemoryBudget(MemoryAllocator.Default, 64 * MiB);
        var configuration = budget.Configure(Configuration.Default);
        using (var image = new Image<Rgba32>(configuration, 3000, 3000))
        {
            Assert.Equal(3000L * 3000 * 4, budget.HeldBytes);
        }

        Assert.Equal(0, budget.HeldBytes);
        // 100 MB in blocks of 4 MiB: refused at the block that would pass 64 MiB. (ImageSharp does not hand back the
        // blocks of a group it could not complete; they go with the job's budget, to the garbage collector.)
        Assert.Throws<InvalidMemoryOperationException>(() => new Image<Rgba32>(configuration, 5000, 5000));
        Assert.True(budget.PeakBytes <= 64 * MiB);
    }
}
