using MediaService.ApiFrontend.Media;

namespace MediaService.UnitTests;

public sealed class FillAsyncTests
{
    /// <summary>A stream that hands out at most a few bytes per read, as a slow network does.</summary>
    private sealed class TrickleStream(byte[] data, int maxPerRead) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, maxPerRead)], cancellationToken);
    }

    [Fact]
    public async Task FillKeepsReadingShortReadsUntilThePartIsFull()
    {
        var data = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();
        var buffer = new byte[64];

        var filled = await MediaIngest.FillAsync(new TrickleStream(data, 7), buffer, 64, CancellationToken.None);

        Assert.Equal(64, filled);
        Assert.Equal(data[..64], buffer);
    }

    [Fact]
    public async Task FillStopsAtTheEndOfTheBody()
    {
        var buffer = new byte[64];
        var stream = new TrickleStream(new byte[10], 3);

        Assert.Equal(10, await MediaIngest.FillAsync(stream, buffer, 64, CancellationToken.None));
        Assert.Equal(0, await MediaIngest.FillAsync(stream, buffer, 64, CancellationToken.None));
    }
}
