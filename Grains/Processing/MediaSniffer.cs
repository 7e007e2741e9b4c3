using System.Buffers.Binary;
using System.Text;
using MediaService.Grains.Interfaces;

namespace MediaService.Grains.Processing;

/// <summary>A type recognized from a file's first bytes.</summary>
/// <param name="Kind">Image, video or audio (a container that may hold either says video; probing decides).</param>
/// <param name="MediaType">Its media type.</param>
/// <param name="Format">A short name (jpeg, png, mp4, matroska, ...).</param>
/// <param name="Demuxer">The ffmpeg demuxer forced when probing and transcoding it; null for still images.</param>
public sealed record SniffedType(MediaKind Kind, string MediaType, string Format, string? Demuxer);

/// <summary>
/// Recognizes media from magic bytes, never from the client's declared type or file name. Only what is recognized
/// here can reach a decoder, and the decoder must then agree.
/// </summary>
public static class MediaSniffer
{
    /// <summary>Bytes to read from the start of a file for <see cref="Sniff"/>.</summary>
    public const int HeaderLength = 64;

    /// <summary>What the file's first bytes say it is, or null when they match no known media format.</summary>
    public static SniffedType? Sniff(ReadOnlySpan<byte> head)
    {
        if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
        {
            return new(MediaKind.Image, "image/jpeg", "jpeg", null);
        }

        if (head.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return new(MediaKind.Image, "image/png", "png", null);
        }

        if (head.StartsWith("GIF87a"u8) || head.StartsWith("GIF89a"u8))
        {
            return new(MediaKind.Image, "image/gif", "gif", null);
        }

        if (head.Length >= 12 && head.StartsWith("RIFF"u8))
        {
            var form = head.Slice(8, 4);
            if (form.SequenceEqual("WEBP"u8))
            {
                return new(MediaKind.Image, "image/webp", "webp", null);
            }

            if (form.SequenceEqual("WAVE"u8))
            {
                return new(MediaKind.Audio, "audio/wav", "wav", "wav");
            }

            if (form.SequenceEqual("AVI "u8))
            {
                return new(MediaKind.Video, "video/x-msvideo", "avi", "avi");
            }
        }

        if (head.StartsWith("II*\0"u8) || head.StartsWith("MM\0*"u8))
        {
            return new(MediaKind.Image, "image/tiff", "tiff", null);
        }

        if (IsBmp(head))
        {
            return new(MediaKind.Image, "image/bmp", "bmp", null);
        }

        if (head.Length >= 12 && head.Slice(4, 4).SequenceEqual("ftyp"u8))
        {
            return Heif(head) ?? IsoBrand(head.Slice(8, 4));
        }

        if (head.StartsWith((ReadOnlySpan<byte>)[0x1A, 0x45, 0xDF, 0xA3]))
        {
            // EBML: the DocType says WebM or Matroska; both are read by ffmpeg's matroska demuxer.
            return head.IndexOf("webm"u8) >= 0
                ? new(MediaKind.Video, "video/webm", "webm", "matroska")
                : head.IndexOf("matroska"u8) >= 0 ? new(MediaKind.Video, "video/x-matroska", "matroska", "matroska") : null;
        }

        if (head.StartsWith("fLaC"u8))
        {
            return new(MediaKind.Audio, "audio/flac", "flac", "flac");
        }

        if (head.StartsWith("OggS"u8))
        {
            return new(MediaKind.Audio, "audio/ogg", "ogg", "ogg");
        }

        if (head.StartsWith("ID3"u8))
        {
            return new(MediaKind.Audio, "audio/mpeg", "mp3", "mp3");
        }

        if (head.Length >= 2 && head[0] == 0xFF && (head[1] & 0xE0) == 0xE0)
        {
            // An MPEG audio frame header: layer bits 00 mean an ADTS (AAC) header, anything else MPEG layer I-III.
            var layer = (head[1] >> 1) & 0x3;
            var version = (head[1] >> 3) & 0x3;
            if (layer == 0)
            {
                return (head[1] & 0xF6) == 0xF0 ? new(MediaKind.Audio, "audio/aac", "aac", "aac") : null;
            }

            return version != 1 && head.Length >= 3 && (head[2] >> 4) != 0xF ? new(MediaKind.Audio, "audio/mpeg", "mp3", "mp3") : null;
        }

        return null;
    }

    // HEIF images (HEIC, AVIF, and HEIF of other codecs) by the brands of their ftyp box: the major brand, or a
    // structural one (mif1, msf1, miaf) with a codec brand among the compatible ones. The decoder confirms it.
    private static SniffedType? Heif(ReadOnlySpan<byte> head)
    {
        var size = (int)Math.Min(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(head), head.Length);
        var brands = new List<string> { Encoding.ASCII.GetString(head.Slice(8, 4)) };
        for (var at = 16; at + 4 <= size; at += 4)
        {
            brands.Add(Encoding.ASCII.GetString(head.Slice(at, 4)));
        }

        var major = brands[0];
        if (major is "avif" or "avis" || (major is "mif1" or "msf1" or "miaf" && brands.Skip(1).Any(b => b is "avif" or "avis")))
        {
            return new(MediaKind.Image, "image/avif", "avif", null);
        }

        if (major is "heic" or "heix" or "hevc" or "hevx" or "heim" or "heis"
            || (major is "mif1" or "msf1" or "miaf" && brands.Skip(1).Any(b => b is "heic" or "heix" or "hevc" or "hevx")))
        {
            return new(MediaKind.Image, "image/heic", "heic", null);
        }

        return major is "mif1" or "msf1" ? new(MediaKind.Image, "image/heif", "heif", null) : null;
    }

    private static SniffedType IsoBrand(ReadOnlySpan<byte> brand)
    {
        var name = Encoding.ASCII.GetString(brand);
        return name switch
        {
            "qt  " => new(MediaKind.Video, "video/quicktime", "mov", "mov"),
            "M4A " or "M4B " or "M4P " => new(MediaKind.Audio, "audio/mp4", "m4a", "mov"),
            "3gp4" or "3gp5" or "3gp6" or "3g2a" => new(MediaKind.Video, "video/3gpp", "3gp", "mov"),
            _ => new(MediaKind.Video, "video/mp4", "mp4", "mov"),
        };
    }

    private static bool IsBmp(ReadOnlySpan<byte> head)
    {
        // "BM", then the file size, two reserved words (zero) and the DIB header's known sizes.
        if (head.Length < 18 || !head.StartsWith("BM"u8) || BinaryPrimitives.ReadUInt32LittleEndian(head[6..]) != 0)
        {
            return false;
        }

        var dib = BinaryPrimitives.ReadUInt32LittleEndian(head[14..]);
        return dib is 12 or 40 or 52 or 56 or 64 or 108 or 124;
    }
}
