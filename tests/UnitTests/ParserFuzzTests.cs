using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using MediaService.ApiFrontend.Http;
using MediaService.ApiFrontend.Media;
using MediaService.ApiFrontend.Tus;
using MediaService.DataPlane;
using MediaService.Grains.Interfaces;
using MediaService.Grains.Processing;
using MediaService.Tests;

namespace MediaService.UnitTests;

/// <summary>
/// Property-based fuzzing (FsCheck) of every parser that reads what a client sends: tus headers (Upload-Metadata,
/// Upload-Concat, Upload-Checksum), Range, merge patches with their annotation rules, search cursors, file names,
/// the media sniffer and the image frame counter. Inputs mix random text (lone surrogates and control characters
/// included), soups of the tokens each grammar uses, and mutations of valid values; each parser must answer (true,
/// false, a value or an error list) and never throw. <c>FUZZ_CASES</c> sets the inputs per property (default 3000);
/// <c>FUZZ_REPORT</c> names a file that receives the counts.
/// </summary>
public sealed class ParserFuzzTests
{
    private static readonly int Cases = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_CASES"), out var cases) ? cases : 3000;

    private static readonly string[] Tokens =
    [
        "final;", "partial", "/files/", "http://h/files/", "1", "42", "0", "-1", "9223372036854775807", "9223372036854775808",
        "99999999999999999999", " ", ",", ";", "=", "==", "bytes=", "-", "sha1 ", "sha256 ", "md5 ", "AAAA", "2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
        "\ud800", "\udfff", "\u0000", "\t", "\r\n", "é", "🙂", "filename", "dGVzdA==", "%", "\"", "*", "attachment; filename=",
        "filename*=UTF-8''", "..", "/", "\\", "c|", "r|", "|",
    ];

    private static readonly Gen<string> AnyText = Gen.OneOf(
        ArbMap.Default.GeneratorFor<string>().Select(s => s ?? string.Empty),
        Gen.ArrayOf(Gen.Elements(Tokens)).Select(string.Concat),
        Gen.ArrayOf(Gen.Choose(0, 0xFFFF).Select(c => (char)c)).Select(chars => new string(chars)),
        Gen.Choose(0, 20_000).Select(n => new string('A', n) + ",k " + new string('=', n % 7)));

    private static int _total;

    private static void Check<T>(string name, Gen<T> gen, Action<T> property)
    {
        Prop.ForAll(Arb.From(gen), value => property(value)).Check(Config.QuickThrowOnFailure.WithMaxTest(Cases).WithQuietOnSuccess(true));
        Interlocked.Add(ref _total, Cases);
        if (Environment.GetEnvironmentVariable("FUZZ_REPORT") is { Length: > 0 } report)
        {
            File.AppendAllText(report, $"parsers: {name}: {Cases} inputs, 0 exceptions\n");
        }
    }

    [Fact]
    public void UploadMetadataNeverThrowsAndValidPairsRoundTrip()
    {
        Check("Upload-Metadata", AnyText, header =>
        {
            if (TusMetadata.TryParse(header, 4096, out var pairs, out var error))
            {
                Assert.All(pairs.Keys, key => Assert.False(string.IsNullOrEmpty(key)));
            }
            else
            {
                Assert.False(string.IsNullOrEmpty(error));
            }
        });

        var pairs = Gen.ArrayOf(Gen.Zip(Gen.Elements("filename", "filetype", "name", "k1", "x"), ArbMap.Default.GeneratorFor<byte[]>()));
        Check("Upload-Metadata round trip", pairs, list =>
        {
            var unique = list.Where(p => p.Item2 is not null).DistinctBy(p => p.Item1).ToArray();
            var header = string.Join(',', unique.Select(p => $"{p.Item1} {Convert.ToBase64String(p.Item2)}"));
            if (TusMetadata.TryParse(header, 1 << 20, out var parsed, out _))
            {
                Assert.All(unique, p => Assert.Equal(p.Item2, parsed[p.Item1]));
            }
        });
    }

    [Fact]
    public void UploadConcatNeverThrowsAndOnlyNamesValidIds()
    {
        var finals = Gen.OneOf(AnyText, AnyText.Select(s => "final;" + s), Gen.ArrayOf(ArbMap.Default.GeneratorFor<long>()).Select(ids => "final;" + string.Join(' ', ids.Select(i => $"/files/{i}"))));
        Check("Upload-Concat", finals, header =>
        {
            if (TusConcatenation.TryParseFinal(header, out var ids))
            {
                Assert.InRange(ids.Length, 1, 1000);
                Assert.All(ids, id => Assert.True(MediaIds.IsValid(id)));
            }
        });
    }

    [Fact]
    public void UploadChecksumNeverThrowsAndDigestsHaveTheirAlgorithmsSize()
    {
        Check("Upload-Checksum", AnyText, header =>
        {
            if (TusChecksum.TryParse(header, out var algorithm, out var digest))
            {
                Assert.Equal(algorithm.Name switch { "SHA1" => 20, "MD5" => 16, _ => 32 }, digest.Length);
            }
        });
    }

    [Fact]
    public void RangeNeverThrowsAndAPartialRangeLiesInsideTheContent()
    {
        var ranges = Gen.OneOf(AnyText, AnyText.Select(s => "bytes=" + s),
            Gen.Zip(ArbMap.Default.GeneratorFor<long>(), ArbMap.Default.GeneratorFor<long>()).Select(p => $"bytes={p.Item1}-{p.Item2}"));
        var lengths = Gen.OneOf(Gen.Constant(0L), Gen.Choose(0, 10_000).Select(n => (long)n), Gen.Constant(long.MaxValue));
        Check("Range", Gen.Zip(ranges, lengths), input =>
        {
            var (header, length) = input;
            var range = ByteRangeRequest.Parse(header, length);
            if (range.Decision == RangeDecision.Partial)
            {
                Assert.InRange(range.From, 0, range.To);
                Assert.InRange(range.To, range.From, length - 1);
            }
        });
    }

    // JSON documents as clients might write them: objects of the editable members with values of every kind, strings
    // with escapes (lone surrogates among them), deep nesting and numbers past every range.
    private static readonly Gen<string> JsonValue = Gen.Sized(size => JsonOf(Math.Min(size, 6)));

    private static Gen<string> JsonOf(int depth)
    {
        var scalar = Gen.OneOf(
            Gen.Elements("null", "true", "false", "0", "-1", "1e400", "123456789012345678901234567890", "\"\"", "\"a\"", "\"\\ud800\"", "\"\\udfff x\"",
                "\"\\u0000\"", "\"🙂\"", "\"" + new string('x', 5000) + "\""),
            AnyText.Select(Quote));
        if (depth <= 0)
        {
            return scalar;
        }

        var member = Gen.Zip(Gen.OneOf(Gen.Elements("title", "description", "tags", "keywords", "custom", "\\ud800", "x"), AnyText.Select(s => Quote(s)[1..^1])),
            JsonOf(depth - 1)).Select(m => $"\"{m.Item1}\":{m.Item2}");
        return Gen.OneOf(scalar,
            Gen.ArrayOf(JsonOf(depth - 1)).Select(items => $"[{string.Join(',', items.Take(20))}]"),
            Gen.ArrayOf(member).Select(members => $"{{{string.Join(',', members.Take(10))}}}"));
    }

    // A JSON string of any UTF-16 text, lone surrogates included: every character outside printable ASCII escaped.
    private static string Quote(string text)
    {
        var quoted = new StringBuilder("\"");
        foreach (var c in text)
        {
            quoted.Append(c is >= ' ' and <= '~' and not '"' and not '\\' ? c.ToString() : $"\\u{(int)c:x4}");
        }

        return quoted.Append('"').ToString();
    }

    [Fact]
    public void MergePatchesNeverThrowAndEveryAcceptedPatchApplies()
    {
        Check("merge patch", Gen.OneOf(JsonValue, AnyText), text =>
        {
            JsonDocument document;
            try
            {
                // As the endpoint reads it: the request's bytes (text with lone surrogates cannot be sent as UTF-8).
                document = JsonDocument.Parse(Encoding.UTF8.GetBytes(text), new JsonDocumentOptions { MaxDepth = 8 });
            }
            catch (JsonException)
            {
                return; // the endpoint answers 400 for what does not parse
            }

            using (document)
            {
                var (patch, errors) = MergePatch.Read(document.RootElement);
                if (patch is not null)
                {
                    Assert.Empty(errors);
                    _ = AnnotationRules.Apply(Annotations.Empty, patch, new MetadataOptions());
                }
                else
                {
                    Assert.NotEmpty(errors);
                }
            }
        });
    }

    [Fact]
    public void SearchCursorsNeverThrowAndValidOnesRoundTrip()
    {
        var tokens = Gen.OneOf(AnyText,
            AnyText.Select(s => System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(s))),
            Gen.Zip(ArbMap.Default.GeneratorFor<long>(), ArbMap.Default.GeneratorFor<int>()).Select(p =>
                System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"c|{p.Item1}|{p.Item2}|{Math.Abs(p.Item1 % 1000)}"))));
        Check("search cursor", tokens, token =>
        {
            if (SearchCursor.Decode(token) is { } cursor)
            {
                Assert.InRange(cursor.CreatedAtTicks, 0, DateTimeOffset.MaxValue.UtcTicks);
                Assert.True(float.IsFinite(cursor.Rank));
                _ = new DateTimeOffset(cursor.CreatedAtTicks, TimeSpan.Zero);
            }
        });

        var cursors = Gen.Zip(Gen.Choose(0, int.MaxValue), Gen.Choose(1, int.MaxValue)).Select(p =>
            new SearchCursor(p.Item1 % 2 == 0 ? SearchSort.Created : SearchSort.Relevance, p.Item1 * 1000L, p.Item1 / 7f, p.Item2));
        Check("search cursor round trip", cursors, cursor => Assert.Equal(cursor, SearchCursor.Decode(cursor.Encode())));
    }

    [Fact]
    public void FileNamesNeverThrow()
    {
        Check("file names", AnyText, text =>
        {
            var name = FileNames.Sanitize(FileNames.FromContentDisposition(text) ?? text, 255);
            if (name is not null)
            {
                Assert.InRange(name.Length, 1, 255);
                Assert.DoesNotContain('/', name);
            }
        });
    }

    // Bytes: random, and real headers of every format cut and flipped at random.
    private static readonly byte[][] Seeds =
    [
        MediaCorpus.Image(8, 8, new SixLabors.ImageSharp.Formats.Jpeg.JpegEncoder()),
        MediaCorpus.BlackPng(8, 8),
        MediaCorpus.AnimatedGif(4, 4, 3),
        MediaCorpus.GifBomb(100, 100, 5),
        MediaCorpus.TiffBomb(16, 16, 3),
        MediaCorpus.ApngBomb(16, 16, 3),
        MediaCorpus.WebpBomb(16, 16, 3),
        MediaCorpus.AvifHeader(10, 10),
    ];

    private static readonly Gen<byte[]> Bytes = Gen.OneOf(
        ArbMap.Default.GeneratorFor<byte[]>().Select(b => b ?? []),
        Gen.Zip(Gen.Elements(Seeds), Gen.ArrayOf(Gen.Zip(Gen.Choose(0, 4096), Gen.Choose(0, 255)))).Select(pair =>
        {
            var (seed, flips) = pair;
            var copy = seed.ToArray();
            foreach (var (at, value) in flips)
            {
                copy[at % copy.Length] = (byte)value;
            }

            return flips.Length % 3 == 0 ? copy[..(flips.Length * 7 % copy.Length)] : copy;
        }));

    [Fact]
    public void TheSnifferNeverThrows()
    {
        Check("sniffer", Bytes, bytes =>
        {
            var sniffed = MediaSniffer.Sniff(bytes.AsSpan(0, Math.Min(bytes.Length, MediaSniffer.HeaderLength)));
            Assert.True(sniffed is null || sniffed.MediaType.Contains('/'));
        });
    }

    [Fact]
    public void TheFrameCounterNeverThrowsAndCountsAtLeastOneFrame()
    {
        Check("frame counter", Gen.Zip(Bytes, Gen.Elements("gif", "png", "webp", "tiff", "jpeg")), input =>
        {
            var (bytes, format) = input;
            using var stream = new MemoryStream(bytes);
            var count = ImageFrames.Read(stream, format, 1000);
            Assert.InRange(count.Frames, 1, 1001);
        });
    }
}
