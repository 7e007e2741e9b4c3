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
