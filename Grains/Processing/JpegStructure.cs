namespace MediaService.Grains.Processing;

/// <summary>Reads a JPEG's marker structure, enough to tell a complete file from a truncated one.</summary>
public static class JpegStructure
{
    /// <summary>
    /// True when the image data ends with an end-of-image marker: the segments are walked from the start to the first
    /// scan, then the entropy-coded data is scanned for EOI. Bytes after EOI are allowed (cameras append data there).
    /// </summary>
    public static bool HasEndOfImage(string path)
    {
        using var stream = new BufferedStream(File.OpenRead(path), 65536);
        if (stream.ReadByte() != 0xFF || stream.ReadByte() != 0xD8)
        {
            return false;
        }

        // Segments: FF xx, then a two-byte length that counts itself, up to the start of scan (FF DA).
        while (true)
        {
            var marker = NextMarker(stream);
            if (marker < 0)
            {
                return false;
            }

            if (marker == 0xD9)
            {
                return true;
            }

            if (marker is 0x01 or (>= 0xD0 and <= 0xD7))
            {
                continue;
            }

            var high = stream.ReadByte();
            var low = stream.ReadByte();
            if (high < 0 || low < 0)
            {
                return false;
            }

            var length = (high << 8) | low;
            if (marker == 0xDA)
            {
                stream.Seek(length - 2, SeekOrigin.Current);
                return ScanForEndOfImage(stream);
            }

            if (length < 2 || stream.Seek(length - 2, SeekOrigin.Current) > stream.Length)
            {
                return false;
            }
        }
    }

    private static int NextMarker(Stream stream)
    {
        int b;
        while ((b = stream.ReadByte()) >= 0 && b != 0xFF)
        {
        }

        while (b == 0xFF)
        {
            b = stream.ReadByte();
        }

        return b;
    }

    // Entropy-coded data: FF 00 is a stuffed byte and FF D0-D7 a restart marker; progressive files have more
    // segments and scans after the first, and every marker is reached the same way until EOI.
    private static bool ScanForEndOfImage(Stream stream)
    {
        int b;
        while ((b = stream.ReadByte()) >= 0)
        {
            if (b != 0xFF)
            {
                continue;
            }

            int next;
            do
            {
                next = stream.ReadByte();
            }
            while (next == 0xFF);

            if (next == 0xD9)
            {
                return true;
            }

            if (next < 0)
            {
                return false;
            }
        }

        return false;
    }
}
