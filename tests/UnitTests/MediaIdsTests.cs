using MediaService.ApiFrontend.Media;

namespace MediaService.UnitTests;

public sealed class MediaIdsTests
{
    [Fact]
    public void IdsArePositiveAndBelowTwoToThe53()
    {
        for (var i = 0; i < 10_000; i++)
        {
            var id = MediaIds.NewId();
            Assert.InRange(id, 1, (1L << 53) - 1);
        }
    }

    [Fact]
    public void IdsAreNeitherRepeatedNorSequential()
    {
        var ids = Enumerable.Range(0, 10_000).Select(_ => MediaIds.NewId()).ToArray();

        Assert.Equal(ids.Length, ids.Distinct().Count());
        var adjacent = ids.Zip(ids.Skip(1), (a, b) => Math.Abs(b - a)).Count(d => d < 1_000_000);
        Assert.True(adjacent < 5, $"{adjacent} consecutive ids were within a million of each other.");
    }

    [Fact]
    public void IdsUseTheHighBitsOfTheRange()
    {
        // With 10,000 uniform draws, some must land in the top half of [1, 2^53): a generator that only
        // filled 32 bits, say, would never get there.
        var ids = Enumerable.Range(0, 10_000).Select(_ => MediaIds.NewId());
        Assert.Contains(ids, id => id > (1L << 52));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(-1, false)]
    [InlineData(1, true)]
    [InlineData((1L << 53) - 1, true)]
    [InlineData(1L << 53, false)]
    public void OnlyIdsInRangeAreValid(long id, bool valid)
    {
        Assert.Equal(valid, MediaIds.IsValid(id));
    }
}
