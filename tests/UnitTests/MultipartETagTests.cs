using System.Security.Cryptography;
using MediaService.DataPlane;

namespace MediaService.UnitTests;

public sealed class MultipartETagTests
{
    private static string Md5(byte[] bytes) => $"\"{Convert.ToHexStringLower(MD5.HashData(bytes))}\"";

    [Fact]
    public void TheMultipartETagIsTheMd5OfThePartsMd5sWithTheirCount()
    {
        byte[] a = [1, 2, 3], b = [4, 5];
        var parts = new[] { Md5(a), Md5(b) };
        var expected = Convert.ToHexStringLower(MD5.HashData([.. MD5.HashData(a), .. MD5.HashData(b)])) + "-2";

        Assert.Equal(expected, MultipartETag.Compute(parts));
        Assert.True(MultipartETag.Matches($"\"{expected}\"", parts));
        Assert.False(MultipartETag.Matches($"\"{expected[..^1]}3\"", parts));
        Assert.False(MultipartETag.Matches($"\"{expected}\"", [parts[0]]));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("\"0123456789abcdef0123456789abcdef\"")]
    public void AnETagThatIsNotAMultipartOneCannotBeJudged(string? etag)
    {
        Assert.Null(MultipartETag.Matches(etag, [Md5([1])]));
    }

    [Fact]
    public void PartsWithoutPlainMd5ETagsCannotBeJudged()
    {
        Assert.Null(MultipartETag.Compute(["\"not-an-md5\""]));
        Assert.Null(MultipartETag.Matches("\"abc-1\"", ["\"not-an-md5\""]));
    }
}
