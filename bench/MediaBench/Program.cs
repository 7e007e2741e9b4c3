using System.Diagnostics;
using System.Globalization;
using System.Text;
using MediaService.Tests;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

// Usage:
//   MediaBench photos <dir> <count>        12-megapixel JPEGs (4000x3000, EXIF with GPS)
//   MediaBench hostile <dir>               the hostile corpus of the processing tests
//   MediaBench heics <dir> <count>        <count> 12-megapixel HEIC photos (heif-enc from a JPEG with EXIF)
//   MediaBench heifcorpus <dir>            the phone-format corpus of the tests: HEIC and AVIF with GPS, rotated, alpha,
//                                          and the hostile ones
//   MediaBench heifalone <dir> <parallelism>
//                                          heif-convert and ImageSharp alone: decode, thumb and display as WebP and JPEG,
//                                          and as AVIF with heif-enc; prints seconds
//   MediaBench bombs <dir>                 decompression bombs: multi-frame GIF, TIFF, APNG and WebP, a huge AVIF header
//   MediaBench resize <dir> <parallelism>  ImageSharp alone: decode, orient, thumb and display as WebP and JPEG; prints seconds
//   MediaBench load <urls-file> <concurrency> <seconds>
//                                          GETs the URLs round-robin (after a 2 s warm-up); prints requests/s, p50, p99, errors
//   MediaBench s3mpu <service-url> <bucket> <key> <file> <part-size> <in-flight>
//                                          a multipart upload straight to S3 with the AWS SDK as the service sets it up; prints seconds
//   MediaBench scale <api-url> <admin-key-file> <concurrency> <seconds> <stop-file>
//                                          continuous tus uploads retried as tus-js-client does while silos come and go;
//                                          prints completed/failed uploads per second and media items per silo (bench/scale-bench.sh)
//   MediaBench webhooks <api-url> <admin-key-file> <label>
//                                          webhook delivery to a receiver in this process: events/s, lag from change to
//                                          arrival, PATCH latency with and without a subscription (bench/webhook-bench.sh);
//                                          WEBHOOK_ITEMS (300), WEBHOOK_CONCURRENCY (8), WEBHOOK_PACED_RATE (20/s), WEBHOOK_PACED_COUNT (100)
//   MediaBench shardload <api> create|append <concurrency> <seconds>
//                                          tus creations, or 64 KiB PATCHes to open uploads: storage writes per second
//                                          (bench/shard-bench.sh)
//   MediaBench explain <connection> <service-id> <owner> <query>...
//                                          EXPLAIN ANALYZE of the service's own search SQL for each query (tag=a&q=b&...)
var command = args.ElementAtOrDefault(0);
var folder = args.ElementAtOrDefault(1) ?? throw new ArgumentException("An argument is required.");
switch (command)
{
    case "load":
        await MediaService.Bench.Load.RunAsync(File.ReadAllLines(folder).Where(l => l.Length > 0).ToArray(),
            int.Parse(args[2], CultureInfo.InvariantCulture), TimeSpan.FromSeconds(double.Parse(args[3], CultureInfo.InvariantCulture)));
        return;

    case "s3mpu":
        await MediaService.Bench.DirectUpload.RunAsync(folder, args[2], args[3], args[4],
            int.Parse(args[5], CultureInfo.InvariantCulture), int.Parse(args[6], CultureInfo.InvariantCulture));
        return;

    case "scale":
        await MediaService.Bench.ScaleLoad.RunAsync(folder, File.ReadAllText(args[2]).Trim(),
            Environment.GetEnvironmentVariable("MEDIA_API_KEY") ?? throw new ArgumentException("MEDIA_API_KEY is not set."),
            int.Parse(args[3], CultureInfo.InvariantCulture), TimeSpan.FromSeconds(double.Parse(args[4], CultureInfo.InvariantCulture)), args[5]);
        return;

    case "webhooks":
        int Setting(string name, int fallback) =>
            Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;
        Environment.ExitCode = await MediaService.Bench.WebhookLoad.RunAsync(folder, File.ReadAllText(args[2]).Trim(), args[3],
            Setting("WEBHOOK_ITEMS", 300), Setting("WEBHOOK_CONCURRENCY", 8), Setting("WEBHOOK_PACED_RATE", 20), Setting("WEBHOOK_PACED_COUNT", 100));
        return;

    case "explain":
        await MediaService.Bench.Explain.RunAsync(folder, args[2], args[3], args[4..]);
        return;

    case "shardload":
        await MediaService.Bench.ShardLoad.RunAsync(folder, args[2], int.Parse(args[3], CultureInfo.InvariantCulture),
            TimeSpan.FromSeconds(double.Parse(args[4], CultureInfo.InvariantCulture)));
        return;
}

Directory.CreateDirectory(folder);
switch (command)
{
    case "photos":
        var photo = MediaCorpus.JpegWithGps(4000, 3000);
        for (var i = 0; i < int.Parse(args[2], CultureInfo.InvariantCulture); i++)
        {
            File.WriteAllBytes(Path.Combine(folder, $"photo-{i:D3}.jpg"), photo);
        }

        break;

    case "heics":
        var heic = MediaCorpus.HeifEncode(MediaCorpus.JpegWithGps(4000, 3000), avif: false, quality: 60);
        for (var i = 0; i < int.Parse(args[2], CultureInfo.InvariantCulture); i++)
        {
            File.WriteAllBytes(Path.Combine(folder, $"photo-{i:D3}.heic"), heic);
        }

        break;

    case "heifcorpus":
        var jpeg = MediaCorpus.JpegWithGps(1600, 1200);
        var real = MediaCorpus.HeifEncode(MediaCorpus.JpegWithGps(640, 480), avif: false);
        File.WriteAllBytes(Path.Combine(folder, "gps.heic"), MediaCorpus.HeifEncode(jpeg, avif: false));
        File.WriteAllBytes(Path.Combine(folder, "gps.avif"), MediaCorpus.HeifEncode(jpeg, avif: true));
        File.WriteAllBytes(Path.Combine(folder, "rotated.heic"), MediaCorpus.RotatedHeif(real));
        File.WriteAllBytes(Path.Combine(folder, "alpha.avif"), MediaCorpus.HeifEncode(MediaCorpus.TransparentPng(200, 100), avif: true));
        File.WriteAllBytes(Path.Combine(folder, "hostile-truncated.heic"), MediaCorpus.Truncated(real, 0.6));
        File.WriteAllBytes(Path.Combine(folder, "hostile-ispe-100000.heic"), MediaCorpus.WithImageSize(real, 100_000, 100_000));
        File.WriteAllBytes(Path.Combine(folder, "hostile-4096-tiles.heic"), MediaCorpus.HeicGridHeader(64, 64));
        File.WriteAllBytes(Path.Combine(folder, "hostile-20000-frames.avif"), MediaCorpus.AvifSequenceHeader(20_000));
        break;

    case "heifalone":
        var heics = Directory.GetFiles(folder, "*.heic");
        var clock = Stopwatch.StartNew();
        Parallel.ForEach(heics, new ParallelOptions { MaxDegreeOfParallelism = int.Parse(args[2], CultureInfo.InvariantCulture) }, file =>
        {
            var work = Directory.CreateTempSubdirectory("heif-alone-").FullName;
            try
            {
                void Run(string tool, params string[] arguments)
                {
                    var start = new ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true };
                    foreach (var argument in arguments)
                    {
                        start.ArgumentList.Add(argument);
                    }

                    using var process = Process.Start(start)!;
                    process.StandardOutput.ReadToEnd();
                    process.StandardError.ReadToEnd();
                    process.WaitForExit();
                }

                var decoded = Path.Combine(work, "decoded.png");
                Run("heif-convert", "--quiet", file, decoded);
                using var image = Image.Load<Rgba32>(decoded);
                foreach (var (name, box) in new[] { ("display", 1280), ("thumb", 256) })
                {
                    using var resized = image.Clone(x => x.Resize(new ResizeOptions { Size = new Size(box, box), Mode = ResizeMode.Max, Sampler = KnownResamplers.Lanczos3 }));
                    resized.Save(Path.Combine(work, $"{name}.webp"), new WebpEncoder { Quality = 80, FileFormat = WebpFileFormatType.Lossy });
                    resized.Save(Path.Combine(work, $"{name}.jpg"), new JpegEncoder { Quality = 82 });
                    var png = Path.Combine(work, $"{name}.png");
                    resized.Save(png, new SixLabors.ImageSharp.Formats.Png.PngEncoder { CompressionLevel = SixLabors.ImageSharp.Formats.Png.PngCompressionLevel.BestSpeed });
                    Run("heif-enc", "-A", "-q", "55", "-p", "speed=8", "-o", Path.Combine(work, $"{name}.avif"), png);
                }
            }
            finally
            {
                Directory.Delete(work, recursive: true);
            }
        });
        Console.WriteLine(clock.Elapsed.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture));
        return;

    case "hostile":
        File.WriteAllBytes(Path.Combine(folder, "huge-50000x50000.png"), MediaCorpus.BlackPng(50_000, 50_000, withPixels: false));
        File.WriteAllBytes(Path.Combine(folder, "bomb-9000x9000.png"), MediaCorpus.BlackPng(9000, 9000));
        File.WriteAllBytes(Path.Combine(folder, "truncated.jpg"), MediaCorpus.Truncated(MediaCorpus.JpegWithGps(2000, 1500), 0.6));
        File.WriteAllBytes(Path.Combine(folder, "empty.jpg"), []);
        File.WriteAllBytes(Path.Combine(folder, "text.jpg"), Encoding.UTF8.GetBytes("not a picture\n"));
        File.WriteAllBytes(Path.Combine(folder, "html-then-jpeg.jpg"), MediaCorpus.HtmlThenJpeg());
        File.WriteAllBytes(Path.Combine(folder, "jpeg-then-html.html"), MediaCorpus.JpegThenHtml());
        var playlist = Encoding.ASCII.GetBytes(MediaCorpus.HlsPlaylist("http://127.0.0.1:9/segment.ts"));
        File.WriteAllBytes(Path.Combine(folder, "playlist.mp4"), playlist);
        File.WriteAllBytes(Path.Combine(folder, "boxed-playlist.mp4"), [0, 0, 0, 0x18, .. "ftypisom"u8, 0, 0, 2, 0, .. "isomiso2"u8, .. playlist]);
        break;

    case "bombs":
        File.WriteAllBytes(Path.Combine(folder, "gif-6000x6000x30.gif"), MediaCorpus.GifBomb(6000, 6000, 30));
        File.WriteAllBytes(Path.Combine(folder, "tiff-6000x6000x30.tif"), MediaCorpus.TiffBomb(6000, 6000, 30));
        File.WriteAllBytes(Path.Combine(folder, "apng-6000x6000x30.png"), MediaCorpus.ApngBomb(6000, 6000, 30));
        File.WriteAllBytes(Path.Combine(folder, "webp-6000x6000x30.webp"), MediaCorpus.WebpBomb(6000, 6000, 30));
        File.WriteAllBytes(Path.Combine(folder, "avif-100000x100000.avif"), MediaCorpus.AvifHeader(100_000, 100_000));
        // Within the budget: an animation of 30 frames (480 MB if every frame were decoded), and a still at the pixel limit.
        File.WriteAllBytes(Path.Combine(folder, "gif-2000x2000x30.gif"), MediaCorpus.GifBomb(2000, 2000, 30));
        File.WriteAllBytes(Path.Combine(folder, "png-8000x8000.png"), MediaCorpus.BlackPng(8000, 8000));
        break;

    case "resize":
        var files = Directory.GetFiles(folder, "*.jpg");
        var watch = Stopwatch.StartNew();
        Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = int.Parse(args[2], CultureInfo.InvariantCulture) }, file =>
        {
            using var image = Image.Load<Rgba32>(file);
            image.Mutate(x => x.AutoOrient());
            foreach (var box in new[] { 256, 1280 })
            {
                using var resized = image.Clone(x => x.Resize(new ResizeOptions { Size = new Size(box, box), Mode = ResizeMode.Max, Sampler = KnownResamplers.Lanczos3 }));
                using var webp = new MemoryStream();
                resized.Save(webp, new WebpEncoder { Quality = 80, FileFormat = WebpFileFormatType.Lossy });
                using var jpeg = new MemoryStream();
                resized.Save(jpeg, new JpegEncoder { Quality = 82 });
            }
        });
        Console.WriteLine(watch.Elapsed.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture));
        break;

    default:
        throw new ArgumentException($"Unknown command {command}.");
}
