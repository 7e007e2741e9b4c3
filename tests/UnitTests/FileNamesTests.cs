using MediaService.ApiFrontend.Media;

namespace MediaService.UnitTests;

public sealed class FileNamesTests
{
    [Theory]
    [InlineData("photo.jpg", "photo.jpg")]
    [InlineData("../../etc/passwd", "passwd")]
    [InlineData("C:\\Users\\me\\clip.mov", "clip.mov")]
    [InlineData("  name with spaces.png  ", "name with spaces.png")]
    [InlineData("evil\r\nSet-Cookie: x.jpg", "evilSet-Cookie: x.jpg")]
    [InlineData("\u202Egnp.exe", "gnp.exe")]
    [InlineData("..", null)]
    [InlineData("dir/", null)]
    [InlineData("   ", null)]
    [InlineData(null, null)]
    public void FileNamesKeepOnlyASafeLastSegment(string? raw, string? expected)
    {
        Assert.Equal(expected, FileNames.Sanitize(raw, 255));
    }

    [Fact]
    public void LongNamesAreCutWithoutSplittingASurrogatePair()
    {
        var name = new string('a', 9) + "\U0001F600" + "tail";

        var cut = FileNames.Sanitize(name, 10);

        Assert.Equal(new string('a', 9), cut);
    }

    [Theory]
    [InlineData("attachment; filename=\"a b.jpg\"", "a b.jpg")]
    [InlineData("attachment; filename*=UTF-8''%E2%82%AC%20rates.png", "€ rates.png")]
    [InlineData("attachment; filename=plain.jpg; filename*=UTF-8''fancy.jpg", "fancy.jpg")]
    [InlineData("inline", null)]
    [InlineData("", null)]
    public void TheFileNameIsReadFromContentDisposition(string header, string? expected)
    {
        Assert.Equal(expected, FileNames.FromContentDisposition(header));
    }
}
