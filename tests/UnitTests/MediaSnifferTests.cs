using System.Text;
using MediaService.Grains.Interfaces;
using MediaService.Grains.Processing;

namespace MediaService.UnitTests;

public sealed class MediaSnifferTests
{
    private static byte[] Bytes(params object[] pieces) =>
        [.. pieces.SelectMany(p => p switch { string s => Encoding.ASCII.GetBytes(s), byte[] b => b, int i => [(byte)i], _ => throw new ArgumentException() })];

    public static TheoryData<byte[], string, string?> Known => new()
    {
        { Bytes(0xFF, 0xD8, 0xFF, 0xE0, "JFIF"), "image/jpeg", null },
        { Bytes(0x89, "PNG", 0x0D, 0x0A, 0x1A, 0x0A, new byte[8]), "image/png", null },
        { Bytes("GIF89a", new byte[6]), "image/gif", null },
        { Bytes("GIF87a", new byte[6]), "image/gif", null },
        { Bytes("RIFF", new byte[4], "WEBPVP8 "), "image/webp", null },
        { Bytes("II*", 0, new byte[8]), "image/tiff", null },
        { Bytes("MM", 0, "*", new byte[8]), "image/tiff", null },
        { Bytes("BM", 70, 0, 0, 0, new byte[4], 54, 0, 0, 0, 40, 0, 0, 0), "image/bmp", null },
        { Bytes(0, 0, 0, 0x20, "ftypisom", new byte[8]), "video/mp4", "mov" },
        { Bytes(0, 0, 0, 0x20, "ftypmp42", new byte[8]), "video/mp4", "mov" },
        { Bytes(0, 0, 0, 0x14, "ftypqt  ", new byte[8]), "video/quicktime", "mov" },
        { Bytes(0, 0, 0, 0x20, "ftypM4A ", new byte[8]), "audio/mp4", "mov" },
        { Bytes(0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x82, 0x84, "webm"), "video/webm", "matroska" },
        { Bytes(0x1A, 0x45, 0xDF, 0xA3, 0xA3, 0x42, 0x82, 0x88, "matroska"), "video/x-matroska", "matroska" },
        { Bytes("ID3", 4, 0, 0, 0, 0, 0, 0), "audio/mpeg", "mp3" },
        { Bytes(0xFF, 0xFB, 0x90, 0x64), "audio/mpeg", "mp3" },
        { Bytes(0xFF, 0xF1, 0x50, 0x80), "audio/aac", "aac" },
        { Bytes("RIFF", new byte[4], "WAVEfmt "), "audio/wav", "wav" },
        { Bytes("fLaC", 0, 0, 0, 0x22), "audio/flac", "flac" },
        { Bytes("OggS", 0, 2, new byte[8]), "audio/ogg", "ogg" },
        { Bytes("RIFF", new byte[4], "AVI LIST"), "video/x-msvideo", "avi" },
    };

    [Theory]
    [MemberData(nameof(Known))]
    public void MagicBytesNameTheTypeAndTheDemuxer(byte[] head, string type, string? demuxer)
    {
        var sniffed = MediaSniffer.Sniff(head);

        Assert.NotNull(sniffed);
        Assert.Equal(type, sniffed.MediaType);
        Assert.Equal(demuxer, sniffed.Demuxer);
        Assert.Equal(type.StartsWith("image/", StringComparison.Ordinal), sniffed.Kind == MediaKind.Image);
    }

    [Theory]
    [InlineData("")]
    [InlineData("hello, this is text that says it is a JPEG")]
    [InlineData("<html><body><img src=x onerror=alert(1)></body></html>")]
    [InlineData("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nfile:///etc/passwd\n")]
    [InlineData("ffconcat version 1.0\nfile /etc/passwd\n")]
    [InlineData("<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>")]
    [InlineData("%PDF-1.7\n")]
    public void AnythingElseIsNotMedia(string text) => Assert.Null(MediaSniffer.Sniff(Encoding.UTF8.GetBytes(text)));

    [Fact]
    public void AFileThatOnlyEndsWithAJpegIsNotAJpeg()
    {
        var polyglot = Bytes("<html><script>alert(1)</script></html>", 0xFF, 0xD8, 0xFF, 0xE0);

        Assert.Null(MediaSniffer.Sniff(polyglot));
    }

    [Fact]
    public void BytesThatOnlyLookLikeAFrameSyncAreNotAudio()
    {
        Assert.Null(MediaSniffer.Sniff(Bytes(0xFF, 0xE9, 0x00, 0x00))); // MPEG version bits 01: reserved
        Assert.Null(MediaSniffer.Sniff(Bytes(0xFF, 0xFB, 0xF0, 0x00))); // bit rate index 15: invalid
        Assert.Null(MediaSniffer.Sniff(Bytes("BM", 0, 0, 0, 0, 1, 0, 0, 0, new byte[8]))); // "BM" text, not a bitmap header
    }
}
