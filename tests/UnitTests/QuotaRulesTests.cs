using System.Collections.Immutable;
using MediaService.ApiFrontend.Limits;
using MediaService.ApiFrontend.Tus;

namespace MediaService.UnitTests;

/// <summary>The pieces of the quota paths that need no server: the capped body and the final's list of partials.</summary>
public sealed class QuotaRulesTests
{
    private static async Task<(byte[] Read, Exception? Failure)> ReadAllAsync(Stream body, int chunk)
    {
        var read = new List<byte>();
        var buffer = new byte[chunk];
        try
        {
            int n;
            while ((n = await body.ReadAsync(buffer)) > 0)
            {
                read.AddRange(buffer.AsSpan(0, n).ToArray());
            }

            return ([.. read], null);
        }
        catch (QuotaExceededException ex)
        {
            return ([.. read], ex);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(4096)]
    public async Task ABodyThatEndsAtTheRoomIsReadWhole(int chunk)
    {
        var bytes = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();

        var (read, failure) = await ReadAllAsync(new QuotaCappedBody(new MemoryStream(bytes), 1000), chunk);

        Assert.Null(failure);
        Assert.Equal(bytes, read);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(4096)]
    public async Task ABodyOneBytePastTheRoomIsStoppedAfterTheRoomWithEveryByteBeforeIt(int chunk)
    {
        var bytes = Enumerable.Range(0, 1001).Select(i => (byte)i).ToArray();

        var (read, failure) = await ReadAllAsync(new QuotaCappedBody(new MemoryStream(bytes), 1000), chunk);

        Assert.Equal(1000, Assert.IsType<QuotaExceededException>(failure).Room);
        Assert.Equal(bytes[..1000], read);
    }

    [Fact]
    public async Task NoRoomRefusesTheFirstByte()
    {
        var (read, failure) = await ReadAllAsync(new QuotaCappedBody(new MemoryStream([1]), 0), 10);

        Assert.NotNull(failure);
        Assert.Empty(read);
        Assert.Null((await ReadAllAsync(new QuotaCappedBody(new MemoryStream([]), 0), 10)).Failure); // an empty body fits
    }

    [Fact]
    public void AFinalNamingAPartialTwiceIsRefusedWithTheRepeatedOne()
    {
        Assert.Null(TusConcatenation.Repeated([1, 2, 3]));
        Assert.Contains("/files/2 is listed 2 times", TusConcatenation.Repeated([1, 2, 3, 2]));
        Assert.Contains("listed 1000 times", TusConcatenation.Repeated([.. Enumerable.Repeat(5L, 1000)]));
    }

    [Theory]
    [InlineData("final;/files/1 /files/1", true)]
    [InlineData("final;/files/1 http://h/files/1", true)]
    [InlineData("final;/files/1 /files/2", false)]
    public void TheSameUploadNamedTwoWaysIsStillRepeated(string header, bool repeated)
    {
        Assert.True(TusConcatenation.TryParseFinal(header, out ImmutableArray<long> ids));
        Assert.Equal(repeated, TusConcatenation.Repeated(ids) is not null);
    }
}
