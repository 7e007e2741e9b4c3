using System.Buffers.Binary;
using System.Text;

namespace MediaService.Grains.Processing;

/// <summary>What the boxes of a HEIF file (HEIC, AVIF) say, read without decoding anything.</summary>
/// <param name="MajorBrand">The <c>ftyp</c> major brand.</param>
/// <param name="Width">The primary image's width as stored (its <c>ispe</c>); 0 when the file names none.</param>
/// <param name="Height">The primary image's height as stored.</param>
/// <param name="Rotation">Anticlockwise rotation of the primary image (<c>irot</c>): 0, 90, 180 or 270.</param>
/// <param name="Mirrored">True when the primary image is mirrored (<c>imir</c>).</param>
/// <param name="Tiles">Tiles of the primary image when it is a grid (its <c>dimg</c> references); 0 otherwise.</param>
/// <param name="Frames">Frames of an image sequence (the largest <c>stsz</c> sample count); 0 for a still.</param>
/// <param name="SequenceWidth">The sequence track's width (<c>tkhd</c>); 0 when there is none.</param>
/// <param name="SequenceHeight">The sequence track's height.</param>
/// <param name="BitDepth">Bits per channel of the primary image (<c>pixi</c>), when stated.</param>
/// <param name="Alpha">True when the primary image has an alpha plane (an <c>auxl</c> image of alpha type).</param>
/// <param name="Hdr">True when its colour is PQ or HLG (an <c>nclx</c> transfer of 16 or 18).</param>
/// <param name="Exif">The primary image's EXIF (TIFF header first), when it has one.</param>
public sealed record HeifInfo(
    string MajorBrand, int Width, int Height, int Rotation, bool Mirrored, int Tiles, long Frames,
    int SequenceWidth, int SequenceHeight, int? BitDepth, bool Alpha, bool Hdr, byte[]? Exif)
{
    /// <summary>The stored size of every top-level image, in the file's item order (the order libheif decodes them in).</summary>
    public IReadOnlyList<(int Width, int Height)> TopLevel { get; init; } = [];

    /// <summary>Top-level images (not tiles, thumbnails or auxiliary images).</summary>
    public int Images => TopLevel.Count;

    /// <summary>Where the primary image is among <see cref="TopLevel"/>.</summary>
    public int PrimaryIndex { get; init; }

    /// <summary>The size as displayed: a quarter turn swaps width and height.</summary>
    public (int Width, int Height) Displayed => Rotation is 90 or 270 ? (Height, Width) : (Width, Height);
}

/// <summary>
/// Reads the ISO base media boxes of a HEIF file that the processing budget needs before anything is decoded: the
/// primary item (<c>pitm</c>), the items (<c>iinf</c>), their references (<c>iref</c>: grid tiles, thumbnails,
/// auxiliary images), their properties (<c>iprp</c>: <c>ispe</c>, <c>irot</c>, <c>imir</c>, <c>pixi</c>, <c>colr</c>,
/// <c>auxC</c>), the EXIF item's bytes (<c>iloc</c>) and, for an image sequence, the frame count of its track. Every
/// count and size is bounded; a file that breaks the structure is <see cref="InvalidDataException"/>.
/// </summary>
public static class HeifStructure
{
    /// <summary>The largest <c>meta</c> or <c>moov</c> box read (a grid of thousands of tiles fits many times over).</summary>
    public const int MaxHeaderBytes = 8 * 1024 * 1024;

    /// <summary>The most top-level boxes read (a file is a handful).</summary>
    public const int MaxBoxes = 10_000;

    /// <summary>The largest EXIF block read.</summary>
    public const int MaxExifBytes = 1024 * 1024;

    private static readonly string[] ImageTypes = ["hvc1", "av01", "grid", "iden", "jpeg", "unci"];

    /// <summary>Reads the file at <paramref name="path"/>.</summary>
    public static HeifInfo Read(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream);
    }

    /// <summary>Reads a seekable stream holding a HEIF file.</summary>
    public static HeifInfo Read(Stream stream)
    {
        string? brand = null;
        byte[]? meta = null;
        byte[]? moov = null;
        var header = new byte[16];
        long at = 0;
        var boxes = 0;
        while (at + 8 <= stream.Length)
        {
            if (++boxes > MaxBoxes)
            {
                throw new InvalidDataException($"The file has more than {MaxBoxes} top-level boxes.");
            }

            stream.Position = at;
            stream.ReadExactly(header, 0, 8);
            long size = BinaryPrimitives.ReadUInt32BigEndian(header);
            var type = Encoding.ASCII.GetString(header, 4, 4);
            var headerSize = 8;
            if (size == 1)
            {
                stream.ReadExactly(header, 8, 8);
                size = (long)BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(8));
                headerSize = 16;
            }
            else if (size == 0)
            {
                size = stream.Length - at;
            }

            if (size < headerSize || size > stream.Length - at)
            {
                // A box cut short: a truncated file. Only the media data may end early without spoiling the header.
                if (type == "mdat" && brand is not null)
                {
                    break;
                }

                throw new InvalidDataException($"The '{Printable(type)}' box at {at} runs past the end of the file.");
            }

            if (type is "ftyp" or "meta" or "moov")
            {
                if (size - headerSize > MaxHeaderBytes)
                {
                    throw new InvalidDataException($"The '{type}' box holds {size - headerSize} bytes; the most read is {MaxHeaderBytes}.");
                }

                var body = new byte[size - headerSize];
                stream.ReadExactly(body);
                switch (type)
                {
                    case "ftyp" when body.Length >= 4:
                        brand = Encoding.ASCII.GetString(body, 0, 4);
                        break;
                    case "meta":
                        meta ??= body;
                        break;
                    case "moov":
                        moov ??= body;
                        break;
                }
            }

            at += size;
        }

        if (brand is null)
        {
            throw new InvalidDataException("The file has no 'ftyp' box.");
        }

        if (meta is null && moov is null)
        {
            throw new InvalidDataException("The file has neither image items ('meta') nor an image sequence ('moov').");
        }

        var (frames, sequenceWidth, sequenceHeight) = moov is null ? (0L, 0, 0) : Sequence(moov);
        return meta is null
            ? new HeifInfo(brand, 0, 0, 0, false, 0, frames, sequenceWidth, sequenceHeight, null, false, false, null)
            : Items(brand, meta, stream) with { Frames = frames, SequenceWidth = sequenceWidth, SequenceHeight = sequenceHeight };
    }

    private static HeifInfo Items(string brand, byte[] meta, Stream file)
    {
        // meta is a full box: version and flags, then its children.
        var children = Children(meta, 4);
        uint primary = 0;
        var types = new Dictionary<uint, string>();
        var references = new List<(string Type, uint From, uint[] To)>();
        var properties = new List<(string Type, byte[] Body)>();
        var associations = new Dictionary<uint, List<int>>();
        var locations = new Dictionary<uint, List<(long Offset, long Length)>>();
        foreach (var (type, body) in children)
        {
            var reader = new BoxReader(body);
            switch (type)
            {
                case "pitm":
                    primary = reader.Version == 0 ? reader.U16() : reader.U32();
                    break;
                case "iinf":
                    var entries = reader.Version == 0 ? reader.U16() : reader.U32();
                    foreach (var (entryType, entry) in Children(body, reader.Position).Take((int)Math.Min(entries, 100_000)))
                    {
                        if (entryType == "infe")
                        {
                            var infe = new BoxReader(entry);
                            if (infe.Version >= 2)
                            {
                                var id = infe.Version == 2 ? infe.U16() : infe.U32();
                                infe.Skip(2); // protection index
                                types[id] = infe.FourCc();
                            }
                        }
                    }

                    break;
                case "iref":
                    var wide = reader.Version != 0;
                    foreach (var (referenceType, reference) in Children(body, reader.Position))
                    {
                        var refs = new BoxReader(reference, fullBox: false);
                        var from = wide ? refs.U32() : refs.U16();
                        var count = refs.U16();
                        var to = new uint[count];
                        for (var i = 0; i < count; i++)
                        {
                            to[i] = wide ? refs.U32() : refs.U16();
                        }

                        references.Add((referenceType, from, to));
                    }

                    break;
                case "iprp":
                    foreach (var (propertyType, property) in Children(body, 0))
                    {
                        if (propertyType == "ipco")
                        {
                            properties.AddRange(Children(property, 0));
                        }
                        else if (propertyType == "ipma")
                        {
                            var ipma = new BoxReader(property);
                            var count = ipma.U32();
                            for (var i = 0; i < count && i < 100_000; i++)
                            {
                                var item = ipma.Version < 1 ? ipma.U16() : ipma.U32();
                                var n = ipma.U8();
                                var list = associations.TryGetValue(item, out var existing) ? existing : associations[item] = [];
                                for (var j = 0; j < n; j++)
                                {
                                    list.Add((ipma.Flags & 1) != 0 ? ipma.U16() & 0x7FFF : ipma.U8() & 0x7F);
                                }
                            }
                        }
                    }

                    break;
                case "iloc":
                    ReadLocations(reader, locations);
                    break;
            }
        }

        if (!types.ContainsKey(primary))
        {
            throw new InvalidDataException($"The primary item {primary} is not among the file's items.");
        }

        IEnumerable<(string Type, byte[] Body)> PropertiesOf(uint item) =>
            associations.TryGetValue(item, out var indices)
                ? indices.Where(i => i >= 1 && i <= properties.Count).Select(i => properties[i - 1])
                : [];

        int width = 0, height = 0, rotation = 0;
        var mirrored = false;
        int? depth = null;
        var hdr = false;
        foreach (var (type, body) in PropertiesOf(primary))
        {
            var reader = new BoxReader(body, fullBox: type is "ispe" or "pixi");
            switch (type)
            {
                case "ispe":
                    (width, height) = ((int)Math.Min(int.MaxValue, reader.U32()), (int)Math.Min(int.MaxValue, reader.U32()));
                    break;
                case "irot":
                    rotation = (reader.U8() & 3) * 90;
                    break;
                case "imir":
                    mirrored = true;
                    break;
                case "pixi":
                    depth = reader.U8() > 0 ? reader.U8() : null;
                    break;
                case "colr" when reader.FourCc() == "nclx":
                    reader.Skip(2);
                    hdr = reader.U16() is 16 or 18;
                    break;
            }
        }

        // Tiles are what the primary grid refers to; thumbnails and auxiliary images refer to what they belong to.
        // Every reference is a tile to decode, a repeated one too.
        var tiles = references.Where(r => r.Type == "dimg" && r.From == primary).Sum(r => r.To.Length);
        var tileIds = references.Where(r => r.Type == "dimg").SelectMany(r => r.To).ToHashSet();
        var dependents = references.Where(r => r.Type is "thmb" or "auxl").Select(r => r.From).ToHashSet();
        var topLevel = types.Where(t => ImageTypes.Contains(t.Value) && !tileIds.Contains(t.Key) && !dependents.Contains(t.Key)).Select(t => t.Key).ToList();
        (int, int) SizeOf(uint item) => PropertiesOf(item).Where(p => p.Type == "ispe").Select(p =>
        {
            var ispe = new BoxReader(p.Body);
            return ((int)Math.Min(int.MaxValue, ispe.U32()), (int)Math.Min(int.MaxValue, ispe.U32()));
        }).FirstOrDefault();
        var alpha = references.Where(r => r.Type == "auxl" && r.To.Contains(primary)).Any(r =>
            PropertiesOf(r.From).Any(p => p.Type == "auxC" && AuxType(p.Body) is "urn:mpeg:mpegB:cicp:systems:auxiliary:alpha" or "urn:mpeg:hevc:2015:auxid:1"));
        var exifItem = references.Where(r => r.Type == "cdsc" && r.To.Contains(primary)).Select(r => r.From)
            .Concat(types.Where(t => t.Value == "Exif").Select(t => t.Key)).FirstOrDefault(id => types.GetValueOrDefault(id) == "Exif");
        var exif = exifItem != 0 && locations.TryGetValue(exifItem, out var extents) ? ReadExif(file, extents) : null;
        return new HeifInfo(brand, width, height, rotation, mirrored, tiles, 0, 0, 0, depth, alpha, hdr, exif)
        {
            TopLevel = [.. topLevel.Select(SizeOf)],
            PrimaryIndex = Math.Max(0, topLevel.IndexOf(primary)),
        };
    }

    private static void ReadLocations(BoxReader reader, Dictionary<uint, List<(long, long)>> locations)
    {
        var sizes = reader.U16();
        var (offsetSize, lengthSize, baseSize) = (sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15);
        var indexSize = reader.Version is 1 or 2 ? sizes & 15 : 0;
        var count = reader.Version < 2 ? reader.U16() : reader.U32();
        for (var i = 0; i < count && i < 100_000; i++)
        {
            var id = reader.Version < 2 ? reader.U16() : reader.U32();
            var method = reader.Version is 1 or 2 ? reader.U16() & 15 : 0;
            reader.Skip(2); // data reference index
            var baseOffset = reader.Sized(baseSize);
            var extentCount = reader.U16();
            var list = new List<(long, long)>();
            for (var j = 0; j < extentCount; j++)
            {
                reader.Sized(indexSize);
                var offset = reader.Sized(offsetSize);
                var length = reader.Sized(lengthSize);
                list.Add((baseOffset + offset, length));
            }

            if (method == 0)
            {
                locations[id] = list; // only data in the file itself (not in an idat box or another item)
            }
        }
    }

    // The EXIF item: a 4-byte offset to the TIFF header, then the EXIF block.
    private static byte[]? ReadExif(Stream file, List<(long Offset, long Length)> extents)
    {
        long total = 0;
        foreach (var (offset, length) in extents)
        {
            if (length < 0 || offset < 0 || length > MaxExifBytes - total || offset > file.Length - length)
            {
                return null; // past the block's bound, or outside the file
            }

            total += length;
        }

        if (total < 8)
        {
            return null;
        }

        var bytes = new byte[total];
        var at = 0;
        foreach (var (offset, length) in extents)
        {
            file.Position = offset;
            file.ReadExactly(bytes, at, (int)length);
            at += (int)length;
        }

        var tiff = 4L + BinaryPrimitives.ReadUInt32BigEndian(bytes);
        return tiff < bytes.Length - 8 ? bytes[(int)tiff..] : null;
    }

    // The frames of an image sequence (moov/trak/mdia/minf/stbl/stsz) and its track's size (moov/trak/tkhd).
    private static (long Frames, int Width, int Height) Sequence(byte[] moov)
    {
        long frames = 0;
        int width = 0, height = 0;
        foreach (var (type, trak) in Children(moov, 0))
        {
            if (type != "trak")
            {
                continue;
            }

            foreach (var (childType, child) in Children(trak, 0))
            {
                if (childType == "tkhd" && child.Length >= 8)
                {
                    width = Math.Max(width, (int)(BinaryPrimitives.ReadUInt32BigEndian(child.AsSpan(child.Length - 8)) >> 16));
                    height = Math.Max(height, (int)(BinaryPrimitives.ReadUInt32BigEndian(child.AsSpan(child.Length - 4)) >> 16));
                }
            }

            var stsz = Find(trak, "mdia", "minf", "stbl", "stsz");
            if (stsz is { Length: >= 12 })
            {
                frames = Math.Max(frames, BinaryPrimitives.ReadUInt32BigEndian(stsz.AsSpan(8)));
            }
        }

        return (frames, width, height);
    }

    private static byte[]? Find(byte[] box, params string[] path)
    {
        var current = box;
        foreach (var name in path)
        {
            current = Children(current, 0).FirstOrDefault(c => c.Type == name).Body;
            if (current is null)
            {
                return null;
            }
        }

        return current;
    }

    private static string? AuxType(byte[] auxC)
    {
        var end = Array.IndexOf(auxC, (byte)0, 4);
        return end > 4 ? Encoding.ASCII.GetString(auxC, 4, end - 4) : null;
    }

    // The boxes inside a box's body, from an offset (past a full box's version and flags, or other fields).
    private static List<(string Type, byte[] Body)> Children(byte[] body, int start)
    {
        var children = new List<(string, byte[])>();
        var at = (long)start;
        while (at + 8 <= body.Length)
        {
            long size = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan((int)at));
            var type = Encoding.ASCII.GetString(body, (int)at + 4, 4);
            var headerSize = 8;
            if (size == 1 && at + 16 <= body.Length)
            {
                size = (long)BinaryPrimitives.ReadUInt64BigEndian(body.AsSpan((int)at + 8));
                headerSize = 16;
            }
            else if (size == 0)
            {
                size = body.Length - at;
            }

            if (size < headerSize || size > body.Length - at)
            {
                throw new InvalidDataException($"The '{Printable(type)}' box runs past the box that holds it.");
            }

            children.Add((type, body[(int)(at + headerSize)..(int)(at + size)]));
            at += size;
        }

        return children;
    }

    private static string Printable(string type) => new(type.Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());

    /// <summary>Big-endian fields of one box, each read checked against its end.</summary>
    private sealed class BoxReader
    {
        private readonly byte[] _body;

        public BoxReader(byte[] body, bool fullBox = true)
        {
            _body = body;
            if (fullBox)
            {
                var word = U32();
                Version = (int)(word >> 24);
                Flags = (int)(word & 0xFFFFFF);
            }
        }

        public int Version { get; }

        public int Flags { get; }

        public int Position { get; private set; }

        public byte U8() => Take(1)[0];

        public ushort U16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

        public uint U32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

        public string FourCc() => Encoding.ASCII.GetString(Take(4));

        public void Skip(int bytes) => Take(bytes);

        public long Sized(int bytes) => bytes switch
        {
            0 => 0,
            4 => U32(),
            8 => (long)Math.Min(long.MaxValue, BinaryPrimitives.ReadUInt64BigEndian(Take(8))),
            _ => throw new InvalidDataException($"A field of {bytes} bytes is not one ISO boxes use."),
        };

        private ReadOnlySpan<byte> Take(int bytes)
        {
            if (Position + bytes > _body.Length)
            {
                throw new InvalidDataException("A box ends before its fields do.");
            }

            var span = _body.AsSpan(Position, bytes);
            Position += bytes;
            return span;
        }
    }
}
