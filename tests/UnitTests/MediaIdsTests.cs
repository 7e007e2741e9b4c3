using System.Security.Cryptography;
using MediaService.ApiFrontend.Media;

namespace MediaService.UnitTests;

public sealed class MediaIdsTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    [Fact]
    public void IdsArePositiveAndBelowTwoToThe53()
    {
        for (var i = 0; i < 10_000; i++)
        {
            var id = MediaIds.NewId(Key);
            Assert.InRange(id, 1, (1L << 53) - 1);
        }
    }

    [Fact]
    public void IdsAreNeitherRepeatedNorSequential()
    {
        var ids = Enumerable.Range(0, 10_000).Select(_ => MediaIds.NewId(Key)).ToArray();

        Assert.Equal(ids.Length, ids.Distinct().Count());
        var adjacent = ids.Zip(ids.Skip(1), (a, b) => Math.Abs(b - a)).Count(d => d < 1_000_000);
        Assert.True(adjacent < 5, $"{adjacent} consecutive ids were within a million of each other.");
    }

    [Fact]
    public void IdsUseTheHighBitsOfTheRange()
    {
        // With 10,000 uniform draws, some must land in the top half of [1, 2^53): a generator that only
        // filled 32 bits, say, would never get there.
        var ids = Enumerable.Range(0, 10_000).Select(_ => MediaIds.NewId(Key));
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

    [Fact]
    public void AnIssuedIdChecksUnderItsKeyOnly()
    {
        var other = RandomNumberGenerator.GetBytes(32);
        var ids = Enumerable.Range(0, 1000).Select(_ => MediaIds.NewId(Key)).ToArray();

        Assert.All(ids, id => Assert.True(MediaIds.IsIssued(id, Key)));
        Assert.True(ids.Count(id => MediaIds.IsIssued(id, other)) < 5);
        Assert.All(ids, id => Assert.False(MediaIds.IsIssued(id ^ 1, Key))); // one bit changed
    }

    [Fact]
    public void MadeUpIdsAlmostNeverPassTheCheck()
    {
        // 100,000 random ids in range: about 1.5 pass a 16-bit check by chance; never a large share.
        var random = new Random(7);
        var passed = Enumerable.Range(0, 100_000).Count(_ => MediaIds.IsIssued(random.NextInt64(1, MediaIds.MaxId), Key));

        Assert.True(passed < 10, $"{passed} of 100,000 made-up ids passed");
        Assert.False(MediaIds.IsIssued(12345, Key));
        Assert.False(MediaIds.IsIssued(0xFFFF, Key)); // no random bits
    }
}
