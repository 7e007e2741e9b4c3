using System.Buffers.Binary;

namespace MediaService.Grains.Processing;

/// <summary>
/// Counts the frames of an image from its structure alone, without decoding a pixel, so that the processing budget
/// (frames × pixels) is checked before any decoder allocates: GIF image descriptors (skipping their data), the APNG
/// <c>acTL</c> frame count, WebP <c>ANMF</c> chunks and TIFF image directories. Reading stops at
/// a limit of frames, so a file of a million frames costs no more than one of the limit.
/// </summary>
public static class ImageFrames
{
    /// <summary>The most GIF blocks (frames and extensions) or RIFF chunks walked: a file of tiny blocks costs no more.</summary>
    public const long MaxBlocks = 1_000_000;

    /// <summary>What the structure says: the number of frames (at most the limit + 1) and whether it is animated.</summary>
    public readonly record struct Count(long Frames, bool Animated);

    /// <summary>Counts the frames of the file at <paramref name="path"/>, of the given format (the sniffer's name).
    /// Formats with one frame, and files whose structure is cut short, count what was found (at least 1): the decoder
    /// then judges the file.</summary>
    public static Count Read(string path, string format, long limit)
    {
        using var stream = new BufferedStream(File.OpenRead(path), 65536);
        return Read(stream, format, limit);
    }

    /// <summary>Counts the frames of an image in a seekable stream.</summary>
    public static Count Read(Stream stream, string format, long limit) => format switch
    {
        "gif" => Gif(stream, limit),
        "png" => Png(stream, limit),
        "webp" => Webp(stream, limit),
        "tiff" => Tiff(stream, limit),
        _ => new Count(1, false),
    };

    private static Count Gif(Stream stream, long limit)
    {
        Span<byte> header = stackalloc byte[13];
        if (stream.ReadAtLeast(header, 13, throwOnEndOfStream: false) < 13)
        {
            return new Count(1, false);
        }

        if ((header[10] & 0x80) != 0 && !Skip(stream, 3L << ((header[10] & 7) + 1)))
        {
            return new Count(1, false);
        }

        long frames = 0;
        long blocks = 0;
        Span<byte> descriptor = stackalloc byte[9];
        while (frames <= limit && ++blocks <= MaxBlocks)
        {
            var block = stream.ReadByte();
            if (block == 0x2C)
            {
                if (stream.ReadAtLeast(descriptor, 9, throwOnEndOfStream: false) < 9)
                {
                    break;
                }

                frames++;
                if ((descriptor[8] & 0x80) != 0 && !Skip(stream, 3L << ((descriptor[8] & 7) + 1)))
                {
                    break;
                }

                stream.ReadByte(); // LZW minimum code size
                if (!SkipSubBlocks(stream))
                {
                    break;
                }
            }
            else if (block == 0x21)
            {
                stream.ReadByte(); // label
                if (!SkipSubBlocks(stream))
                {
                    break;
                }
            }
            else
            {
                break; // the trailer (0x3B), the end of the file, or garbage
            }
        }

        return new Count(Math.Max(1, frames), frames > 1);
    }

    private static bool SkipSubBlocks(Stream stream)
    {
        while (true)
        {
            var size = stream.ReadByte();
            if (size < 0)
            {
                return false;
            }

            if (size == 0)
            {
                return true;
            }

            if (!Skip(stream, size))
            {
                return false;
            }
        }
    }

    // The acTL chunk, before the first IDAT, states the number of frames of an APNG.
    private static Count Png(Stream stream, long limit)
    {
        stream.Seek(8, SeekOrigin.Begin);
        Span<byte> chunk = stackalloc byte[8];
        while (stream.ReadAtLeast(chunk, 8, throwOnEndOfStream: false) == 8)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(chunk);
            if (chunk[4..].SequenceEqual("acTL"u8))
            {
                Span<byte> frames = stackalloc byte[4];
                if (stream.ReadAtLeast(frames, 4, throwOnEndOfStream: false) < 4)
                {
                    break;
                }

                var count = BinaryPrimitives.ReadUInt32BigEndian(frames);
                return new Count(Math.Clamp(count, 1, limit + 1), count > 1);
            }

            if (chunk[4..].SequenceEqual("IDAT"u8) || chunk[4..].SequenceEqual("IEND"u8))
            {
                break;
            }

            if (!Skip(stream, length + 4L))
            {
                break;
            }
        }

        return new Count(1, false);
    }

    // RIFF chunks after "WEBP": VP8X carries the animation flag, and each frame is an ANMF chunk.
    private static Count Webp(Stream stream, long limit)
    {
        stream.Seek(12, SeekOrigin.Begin);
        Span<byte> chunk = stackalloc byte[8];
        long frames = 0;
        long chunks = 0;
        var animated = false;
        while (frames <= limit && ++chunks <= MaxBlocks && stream.ReadAtLeast(chunk, 8, throwOnEndOfStream: false) == 8)
        {
            var size = BinaryPrimitives.ReadUInt32LittleEndian(chunk[4..]);
            var padded = size + (long)(size & 1);
            if (chunk[..4].SequenceEqual("VP8X"u8) && size > 0)
            {
                var flags = stream.ReadByte();
                animated = flags >= 0 && (flags & 0x02) != 0;
                padded -= 1;
            }
            else if (chunk[..4].SequenceEqual("ANMF"u8))
            {
                frames++;
            }

            if (!Skip(stream, padded))
            {
                break;
            }
        }

        return new Count(Math.Max(1, frames), animated || frames > 1);
    }

    // Image file directories, chained by offsets (classic TIFF: 4-byte offsets; BigTIFF: 8-byte). A chain that loops
    // back or points outside the file ends the count.
    private static Count Tiff(Stream stream, long limit)
    {
        Span<byte> header = stackalloc byte[16];
        if (stream.ReadAtLeast(header, 16, throwOnEndOfStream: false) < 8)
        {
            return new Count(1, false);
        }

        var little = header[0] == (byte)'I';
        var big = (little ? BinaryPrimitives.ReadUInt16LittleEndian(header[2..]) : BinaryPrimitives.ReadUInt16BigEndian(header[2..])) == 43;
        ulong offset = big ? Read64(header[8..], little) : Read32(header[4..], little);
        var seen = new HashSet<ulong>();
        long frames = 0;
        Span<byte> buffer = stackalloc byte[8];
        while (offset != 0 && frames <= limit && offset < (ulong)stream.Length && seen.Add(offset))
        {
            frames++;
            stream.Seek((long)offset, SeekOrigin.Begin);
            var countSize = big ? 8 : 2;
            if (stream.ReadAtLeast(buffer[..countSize], countSize, throwOnEndOfStream: false) < countSize)
            {
                break;
            }

            var entries = big ? Read64(buffer, little) : (little ? BinaryPrimitives.ReadUInt16LittleEndian(buffer) : BinaryPrimitives.ReadUInt16BigEndian(buffer));
            var entrySize = big ? 20UL : 12UL;
            if (entries > (ulong)stream.Length / entrySize)
            {
                break;
            }

            if (!Skip(stream, (long)(entries * entrySize)))
            {
                break;
            }
            var offsetSize = big ? 8 : 4;
            if (stream.ReadAtLeast(buffer[..offsetSize], offsetSize, throwOnEndOfStream: false) < offsetSize)
            {
                break;
            }

            offset = big ? Read64(buffer, little) : Read32(buffer, little);
        }

        return new Count(Math.Max(1, frames), frames > 1);
    }

    // Moves forward, unless that would pass the end of the file (a structure that claims more than the file holds).
    private static bool Skip(Stream stream, long bytes)
    {
        if (bytes < 0 || bytes > stream.Length - stream.Position)
        {
            return false;
        }

        stream.Seek(bytes, SeekOrigin.Current);
        return true;
    }

    private static uint Read32(ReadOnlySpan<byte> bytes, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt32BigEndian(bytes);

    private static ulong Read64(ReadOnlySpan<byte> bytes, bool little) =>
        little ? BinaryPrimitives.ReadUInt64LittleEndian(bytes) : BinaryPrimitives.ReadUInt64BigEndian(bytes);
}
