using MediaService.ApiFrontend.Http;

namespace MediaService.UnitTests;

public sealed class ByteRangeRequestTests
{
    [Theory]
    [InlineData("bytes=0-0", 100, 0, 0)]
    [InlineData("bytes=10-19", 100, 10, 19)]
    [InlineData("bytes=90-200", 100, 90, 99)]
    [InlineData("bytes=95-", 100, 95, 99)]
    [InlineData("bytes=-10", 100, 90, 99)]
    [InlineData("bytes=-1000", 100, 0, 99)]
    [InlineData("BYTES= 5 - 6 ", 100, 5, 6)]
    [InlineData("bytes=0-", 1, 0, 0)]
    public void ASingleSatisfiableRangeIsResolvedToAbsoluteOffsets(string header, long length, long from, long to)
    {
        var range = ByteRangeRequest.Parse(header, length);

        Assert.Equal(new ByteRangeRequest(RangeDecision.Partial, from, to), range);
        Assert.Equal(to - from + 1, range.Length);
    }

    [Theory]
    [InlineData("bytes=100-", 100)]
    [InlineData("bytes=100-200", 100)]
    [InlineData("bytes=-0", 100)]
    [InlineData("bytes=0-", 0)]
    [InlineData("bytes=-5", 0)]
    public void ARangeThatSelectsNothingIsUnsatisfiable(string header, long length)
    {
        Assert.Equal(RangeDecision.Unsatisfiable, ByteRangeRequest.Parse(header, length).Decision);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("bytes")]
    [InlineData("items=0-5")]
    [InlineData("bytes=5-1")]
    [InlineData("bytes=a-b")]
    [InlineData("bytes=-")]
    [InlineData("bytes=1")]
    [InlineData("bytes=0-1,3-4")]
    [InlineData("bytes=+1-2")]
    [InlineData("bytes=99999999999999999999-")]
    public void AnInvalidOrMultiRangeHeaderIsIgnoredAndTheWholeBodySent(string? header)
    {
        Assert.Equal(RangeDecision.Full, ByteRangeRequest.Parse(header, 100).Decision);
    }
}
