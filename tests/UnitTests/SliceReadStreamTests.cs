using MediaService.DataPlane;

namespace MediaService.UnitTests;

public sealed class SliceReadStreamTests
{
    [Theory]
    [InlineData(0, 1)]
    [InlineData(10, 5)]
    [InlineData(0, 100)]
    [InlineData(99, 1)]
    public async Task ASliceYieldsExactlyTheRequestedBytes(int offset, int length)
    {
        var data = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();
        await using var slice = new SliceReadStream(new MemoryStream(data), offset, length);
        using var copy = new MemoryStream();

        await slice.CopyToAsync(copy);

        Assert.Equal(data[offset..(offset + length)], copy.ToArray());
    }

    [Fact]
    public async Task AnObjectShorterThanTheSliceIsAnError()
    {
        await using var slice = new SliceReadStream(new MemoryStream(new byte[10]), 5, 10);

        await Assert.ThrowsAsync<EndOfStreamException>(() => slice.CopyToAsync(Stream.Null));
    }
}
