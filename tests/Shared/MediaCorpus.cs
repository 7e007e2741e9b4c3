using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;

namespace MediaService.Tests;

/// <summary>Media files made at test time: images drawn with ImageSharp, hand-built PNGs, hostile files.</summary>
public static class MediaCorpus
{
    /// <summary>A JPEG of <paramref name="width"/>x<paramref name="height"/> stored pixels with EXIF: camera, time,
    /// orientation and a GPS position.</summary>
    public static byte[] JpegWithGps(int width, int height, ushort orientation = 1)
    {
        using var image = Gradient(width, height);
        var exif = new ExifProfile();
        exif.SetValue(ExifTag.Make, "TestCam");
        exif.SetValue(ExifTag.Model, "Model 7");
        exif.SetValue(ExifTag.DateTimeOriginal, "2026:11:24 18:30:00");
        exif.SetValue(ExifTag.Orientation, orientation);
        exif.SetValue(ExifTag.GPSLatitudeRef, "N");
        exif.SetValue(ExifTag.GPSLatitude, [new Rational(48, 1), new Rational(51, 1), new Rational(2411, 100)]);
        exif.SetValue(ExifTag.GPSLongitudeRef, "E");
        exif.SetValue(ExifTag.GPSLongitude, [new Rational(2, 1), new Rational(17, 1), new Rational(4011, 100)]);
        image.Metadata.ExifProfile = exif;
        return Encode(image, new JpegEncoder { Quality = 90 });
    }

    /// <summary>A PNG with a transparent left half.</summary>
    public static byte[] TransparentPng(int width, int height)
    {
        using var image = Gradient(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width / 2; x++)
            {
                image[x, y] = new Rgba32(0, 0, 0, 0);
            }
        }

        return Encode(image, new SixLabors.ImageSharp.Formats.Png.PngEncoder());
    }

    /// <summary>An animated GIF of <paramref name="frames"/> frames.</summary>
    public static byte[] AnimatedGif(int width, int height, int frames)
    {
        using var image = Gradient(width, height);
        for (var i = 1; i < frames; i++)
        {
            using var frame = new Image<Rgba32>(width, height, new Rgba32((byte)(60 * i), 40, 200));
            image.Frames.AddFrame(frame.Frames.RootFrame);
        }

        return Encode(image, new GifEncoder());
    }

    /// <summary>An image in the given ImageSharp format.</summary>
    public static byte[] Image(int width, int height, SixLabors.ImageSharp.Formats.IImageEncoder encoder)
    {
        using var image = Gradient(width, height);
        return Encode(image, encoder);
    }

    /// <summary>
    /// A valid 1-bit grayscale PNG of any size whose pixels are all black: a few KB that claim (and decode to)
    /// width × height pixels. Built by hand, so that a 50000x50000 one costs nothing to make.
    /// </summary>
    public static byte[] BlackPng(int width, int height, bool withPixels = true)
    {
        using var output = new MemoryStream();
        output.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 1; // bit depth
        header[9] = 0; // grayscale
        Chunk(output, "IHDR", header);
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                // Each row: filter byte 0, then width bits of zeros; only as many rows as asked for.
                var row = new byte[1 + ((width + 7) / 8)];
                for (var y = 0; y < (withPixels ? height : 1); y++)
                {
                    zlib.Write(row);
                }
            }

            Chunk(output, "IDAT", compressed.ToArray());
        }

        Chunk(output, "IEND", []);
        return output.ToArray();
    }

    /// <summary>
    /// A GIF bomb: a logical screen of <paramref name="width"/>x<paramref name="height"/> and <paramref name="frames"/>
    /// frames, each a single pixel. A few hundred bytes, but a decoder that keeps every frame as a full canvas holds
    /// frames × width × height pixels. Built by hand.
    /// </summary>
    public static byte[] GifBomb(int width, int height, int frames)
    {
        using var output = new MemoryStream();
        output.Write("GIF89a"u8);
        Span<byte> word = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(word, (ushort)width);
        output.Write(word);
        BinaryPrimitives.WriteUInt16LittleEndian(word, (ushort)height);
        output.Write(word);
        output.Write([0x81, 0, 0]); // a global colour table of 4 entries, background 0, no aspect ratio
        output.Write([0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 255]);
        output.Write([0x21, 0xFF, 11, .. "NETSCAPE2.0"u8, 3, 1, 0, 0, 0]); // loop forever
        for (var i = 0; i < frames; i++)
        {
            output.Write([0x21, 0xF9, 4, 0x04, 10, 0, 0, 0]); // graphic control: keep the frame, 0.1 s
            output.Write([0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0]); // one pixel at (0, 0)
            output.Write([2, 2, 0x44, 0x01, 0]); // LZW: clear, index 0, end (3-bit codes)
        }

        output.WriteByte(0x3B);
        return output.ToArray();
    }

    /// <summary>
    /// A multi-page TIFF bomb: <paramref name="pages"/> bilevel pages of <paramref name="width"/>x<paramref name="height"/>,
    /// every page pointing at the same deflated strip of zeros. Built by hand.
    /// </summary>
    public static byte[] TiffBomb(int width, int height, int pages)
    {
        byte[] strip;
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                var row = new byte[(width + 7) / 8];
                for (var y = 0; y < height; y++)
                {
                    zlib.Write(row);
                }
            }

            strip = compressed.ToArray();
        }

        using var output = new MemoryStream();
        using var writer = new BinaryWriter(output);
        writer.Write("II"u8);
        writer.Write((ushort)42);
        writer.Write(8u); // the first IFD follows the header; the strip comes after the last IFD
        const int entries = 9;
        var ifdSize = 2 + (entries * 12) + 4;
        var stripOffset = 8 + (pages * ifdSize);
        for (var page = 0; page < pages; page++)
        {
            writer.Write((ushort)entries);
            void Entry(ushort tag, ushort type, uint value)
            {
                writer.Write(tag);
                writer.Write(type);
                writer.Write(1u);
                writer.Write(value);
            }

            Entry(256, 4, (uint)width); // ImageWidth
            Entry(257, 4, (uint)height); // ImageLength
            Entry(258, 3, 1); // BitsPerSample
            Entry(259, 3, 8); // Compression: Deflate
            Entry(262, 3, 1); // PhotometricInterpretation: black is zero
            Entry(273, 4, (uint)stripOffset); // StripOffsets
            Entry(277, 3, 1); // SamplesPerPixel
            Entry(278, 4, (uint)height); // RowsPerStrip
            Entry(279, 4, (uint)strip.Length); // StripByteCounts
            writer.Write(page == pages - 1 ? 0u : (uint)(8 + ((page + 1) * ifdSize)));
        }

        writer.Write(strip);
        writer.Flush();
        return output.ToArray();
    }

    /// <summary>An APNG bomb: a black <paramref name="width"/>x<paramref name="height"/> PNG declaring
    /// <paramref name="frames"/> animation frames, each a copy of the first. Built by hand.</summary>
    public static byte[] ApngBomb(int width, int height, int frames)
    {
        var still = BlackPng(width, height);
        // The still's chunks: signature (8), IHDR (25), IDAT (12 + data), IEND (12).
        var idatLength = BinaryPrimitives.ReadInt32BigEndian(still.AsSpan(33));
        var data = still.AsSpan(41, idatLength).ToArray();
        using var output = new MemoryStream();
        output.Write(still.AsSpan(0, 33));
        var actl = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(actl, frames);
        Chunk(output, "acTL", actl);
        var sequence = 0;
        byte[] Fctl()
        {
            var fctl = new byte[26];
            BinaryPrimitives.WriteInt32BigEndian(fctl, sequence++);
            BinaryPrimitives.WriteInt32BigEndian(fctl.AsSpan(4), width);
            BinaryPrimitives.WriteInt32BigEndian(fctl.AsSpan(8), height);
            BinaryPrimitives.WriteUInt16BigEndian(fctl.AsSpan(20), 1);
            BinaryPrimitives.WriteUInt16BigEndian(fctl.AsSpan(22), 10);
            return fctl;
        }

        Chunk(output, "fcTL", Fctl());
        Chunk(output, "IDAT", data);
        for (var i = 1; i < frames; i++)
        {
            Chunk(output, "fcTL", Fctl());
            var fdat = new byte[4 + data.Length];
            BinaryPrimitives.WriteInt32BigEndian(fdat, sequence++);
            data.CopyTo(fdat, 4);
            Chunk(output, "fdAT", fdat);
        }

        Chunk(output, "IEND", []);
        return output.ToArray();
    }

    /// <summary>An animated WebP bomb: a canvas of <paramref name="width"/>x<paramref name="height"/> and
    /// <paramref name="frames"/> frames of one pixel each (lossless, made by ImageSharp). Built by hand.</summary>
    public static byte[] WebpBomb(int width, int height, int frames)
    {
        // The VP8L chunk of a 1x1 lossless WebP: RIFF header (12), then the chunk.
        var one = Image(1, 1, new SixLabors.ImageSharp.Formats.Webp.WebpEncoder { FileFormat = SixLabors.ImageSharp.Formats.Webp.WebpFileFormatType.Lossless });
        var vp8l = one.AsSpan(12).ToArray();
        using var body = new MemoryStream();
        void RiffChunk(string type, ReadOnlySpan<byte> data)
        {
            body.Write(Encoding.ASCII.GetBytes(type));
            Span<byte> size = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(size, data.Length);
            body.Write(size);
            body.Write(data);
            if (data.Length % 2 == 1)
            {
                body.WriteByte(0);
            }
        }

        static void Write24(Span<byte> target, int value)
        {
            target[0] = (byte)value;
            target[1] = (byte)(value >> 8);
            target[2] = (byte)(value >> 16);
        }

        var vp8x = new byte[10];
        vp8x[0] = 0x02 | 0x10; // animation, alpha
        Write24(vp8x.AsSpan(4), width - 1);
        Write24(vp8x.AsSpan(7), height - 1);
        RiffChunk("VP8X", vp8x);
        RiffChunk("ANIM", [0, 0, 0, 0, 0, 0]);
        for (var i = 0; i < frames; i++)
        {
            var anmf = new byte[16 + vp8l.Length];
            Write24(anmf.AsSpan(12), 100); // duration, ms
            vp8l.CopyTo(anmf, 16);
            RiffChunk("ANMF", anmf);
        }

        var riff = new byte[12];
        "RIFF"u8.CopyTo(riff);
        BinaryPrimitives.WriteInt32LittleEndian(riff.AsSpan(4), 4 + (int)body.Length);
        "WEBP"u8.CopyTo(riff.AsSpan(8));
        return [.. riff, .. body.ToArray()];
    }

    /// <summary>
    /// A HEIC or AVIF made by libheif's <c>heif-enc</c> from <paramref name="input"/> (a JPEG, whose EXIF it keeps, or
    /// a PNG, whose alpha it keeps).
    /// </summary>
    public static byte[] HeifEncode(byte[] input, bool avif, int quality = 50)
    {
        var folder = Directory.CreateTempSubdirectory("heif-corpus-").FullName;
        try
        {
            var source = Path.Combine(folder, input.AsSpan().StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P']) ? "in.png" : "in.jpg");
            var target = Path.Combine(folder, avif ? "out.avif" : "out.heic");
            File.WriteAllBytes(source, input);
            var start = new System.Diagnostics.ProcessStartInfo("heif-enc") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in (string[])[.. avif ? ["-A"] : Array.Empty<string>(), "-q", quality.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", target, source])
            {
                start.ArgumentList.Add(argument);
            }

            using var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException("heif-enc did not start.");
            var errors = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? File.ReadAllBytes(target) : throw new InvalidOperationException($"heif-enc failed: {errors.Result}");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A copy of a HEIF file made by heif-enc whose primary image is turned a quarter anticlockwise: its
    /// <c>pixi</c> property (16 bytes) rewritten in place as an <c>irot</c> of 90 degrees, so that no offset moves
    /// (heif-enc 1.15 does not carry a JPEG's EXIF orientation over to <c>irot</c>).</summary>
    public static byte[] RotatedHeif(byte[] heif)
    {
        var copy = heif.ToArray();
        var at = copy.AsSpan().IndexOf("pixi"u8);
        "irot"u8.CopyTo(copy.AsSpan(at));
        copy[at + 4] = 1; // angle: 1 x 90 degrees
        return copy;
    }

    /// <summary>A copy of a HEIF file whose primary image claims <paramref name="width"/>x<paramref name="height"/>
    /// (its first <c>ispe</c> property rewritten).</summary>
    public static byte[] WithImageSize(byte[] heif, int width, int height)
    {
        var copy = heif.ToArray();
        var at = copy.AsSpan().IndexOf("ispe"u8);
        BinaryPrimitives.WriteInt32BigEndian(copy.AsSpan(at + 8), width);
        BinaryPrimitives.WriteInt32BigEndian(copy.AsSpan(at + 12), height);
        return copy;
    }

    private static byte[] Box(string type, params byte[][] content)
    {
        var body = content.SelectMany(c => c).ToArray();
        var box = new byte[8 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(box, box.Length);
        Encoding.ASCII.GetBytes(type).CopyTo(box, 4);
        body.CopyTo(box, 8);
        return box;
    }

    private static byte[] U16(int value) => [(byte)(value >> 8), (byte)value];

    private static byte[] U32(long value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    private static byte[] Ispe(int width, int height) => Box("ispe", [0, 0, 0, 0], U32(width), U32(height));

    /// <summary>The header of a HEIC whose primary image is a grid of <paramref name="columns"/> x <paramref name="rows"/>
    /// tiles of 16x16 (a few hundred KB of boxes, no image data). Built by hand.</summary>
    public static byte[] HeicGridHeader(int columns, int rows, bool oneTileRepeated = false)
    {
        var tiles = columns * rows;
        var infe = new List<byte[]> { Box("infe", [2, 0, 0, 0], U16(1), U16(0), "grid"u8.ToArray(), [0]) };
        for (var i = 0; i < tiles; i++)
        {
            infe.Add(Box("infe", [2, 0, 0, 0], U16(i + 2), U16(0), "hvc1"u8.ToArray(), [0]));
        }

        var dimg = Box("dimg", U16(1), U16(tiles), [.. Enumerable.Range(0, tiles).SelectMany(i => U16(oneTileRepeated ? 2 : i + 2))]);
        var ipma = new List<byte> { 0, 0, 0, 0 };
        ipma.AddRange(U32(tiles + 1));
        ipma.AddRange([.. U16(1), 1, 0x81]);
        for (var i = 0; i < tiles; i++)
        {
            ipma.AddRange([.. U16(i + 2), 1, 0x82]);
        }

        var meta = Box("meta", [0, 0, 0, 0],
            Box("hdlr", [0, 0, 0, 0, 0, 0, 0, 0], "pict"u8.ToArray(), new byte[13]),
            Box("pitm", [0, 0, 0, 0], U16(1)),
            Box("iinf", [0, 0, 0, 0], U16(tiles + 1), [.. infe.SelectMany(b => b)]),
            Box("iref", [0, 0, 0, 0], dimg),
            Box("iprp", Box("ipco", Ispe(columns * 16, rows * 16), Ispe(16, 16)), Box("ipma", [.. ipma])));
        return [.. Box("ftyp", "heic"u8.ToArray(), [0, 0, 0, 0], "mif1heic"u8.ToArray()), .. meta, .. Box("mdat", new byte[64])];
    }

    /// <summary>The header of an AVIF image sequence of <paramref name="frames"/> frames of 64x64 with a still primary
    /// image (a sample table with no samples behind it). Built by hand.</summary>
    public static byte[] AvifSequenceHeader(long frames)
    {
        var meta = Box("meta", [0, 0, 0, 0],
            Box("hdlr", [0, 0, 0, 0, 0, 0, 0, 0], "pict"u8.ToArray(), new byte[13]),
            Box("pitm", [0, 0, 0, 0], U16(1)),
            Box("iinf", [0, 0, 0, 0], U16(1), Box("infe", [2, 0, 0, 0], U16(1), U16(0), "av01"u8.ToArray(), [0])),
            Box("iprp", Box("ipco", Ispe(64, 64)), Box("ipma", [0, 0, 0, 0], U32(1), U16(1), [1, 0x81])));
        var tkhd = Box("tkhd", new byte[76], U32(64 << 16), U32(64 << 16));
        var stsz = Box("stsz", [0, 0, 0, 0], U32(100), U32(frames));
        var moov = Box("moov", Box("trak", tkhd, Box("mdia", Box("minf", Box("stbl", stsz)))));
        return [.. Box("ftyp", "avis"u8.ToArray(), [0, 0, 0, 0], "avisavifmsf1"u8.ToArray()), .. meta, .. moov, .. Box("mdat", new byte[64])];
    }

    /// <summary>The header of an AVIF still claiming <paramref name="width"/>x<paramref name="height"/> pixels (an
    /// <c>ispe</c> property) with a few bytes of image data. Built by hand.</summary>
    public static byte[] AvifHeader(int width, int height)
    {
        var meta = Box("meta", [0, 0, 0, 0],
            Box("hdlr", [0, 0, 0, 0, 0, 0, 0, 0], "pict"u8.ToArray(), new byte[13]),
            Box("pitm", [0, 0, 0, 0, 0, 1]),
            Box("iinf", [0, 0, 0, 0, 0, 1], Box("infe", [2, 0, 0, 0, 0, 1, 0, 0], "av01"u8.ToArray(), [0])),
            Box("iprp", Box("ipco", Ispe(width, height)), Box("ipma", [0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0x81])));
        return [.. Box("ftyp", "avif"u8.ToArray(), [0, 0, 0, 0], "avifmif1miaf"u8.ToArray()), .. meta, .. Box("mdat", new byte[64])];
    }

    /// <summary>The first <paramref name="fraction"/> of a file.</summary>
    public static byte[] Truncated(byte[] file, double fraction) => file[..(int)(file.Length * fraction)];

    /// <summary>A JPEG with an HTML page after its end-of-image marker: a valid image that a sniffing browser
    /// could take for a page.</summary>
    public static byte[] JpegThenHtml() =>
        [.. Image(64, 48, new JpegEncoder()), .. Encoding.ASCII.GetBytes("<html><script>alert(document.cookie)</script></html>")];

    /// <summary>An HTML page followed by a JPEG: a page first, whatever image follows.</summary>
    public static byte[] HtmlThenJpeg() =>
        [.. Encoding.ASCII.GetBytes("<html><script>alert(document.cookie)</script></html>"), .. Image(64, 48, new JpegEncoder())];

    /// <summary>An HLS playlist whose segments are a local file and a URL.</summary>
    public static string HlsPlaylist(string url) =>
        $"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXTINF:10.0,\n{url}\n#EXT-X-ENDLIST\n";

    private static Image<Rgba32> Gradient(int width, int height)
    {
        var image = new Image<Rgba32>(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                image[x, y] = new Rgba32((byte)(255 * x / Math.Max(1, width - 1)), (byte)(255 * y / Math.Max(1, height - 1)), 128);
            }
        }

        return image;
    }

    private static byte[] Encode(Image image, SixLabors.ImageSharp.Formats.IImageEncoder encoder)
    {
        using var stream = new MemoryStream();
        image.Save(stream, encoder);
        return stream.ToArray();
    }

    private static void Chunk(Stream output, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        output.Write(length);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        output.Write(typed);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
        output.Write(crc);
    }

    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }
}
