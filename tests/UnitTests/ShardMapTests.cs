using System.ComponentModel.DataAnnotations;
using MediaService.ApiFrontend.Media;
using MediaService.DataPlane.Sharding;

namespace MediaService.UnitTests;

public sealed class ShardMapTests
{
    private static readonly byte[] Key = [.. Enumerable.Range(0, 32).Select(i => (byte)i)];

    [Theory]
    // Golden pairs: the rule decides where every stored row lives; changing it would re-home them all.
    [InlineData(4502084102828374L, 50)]
    [InlineData(1775055579498255L, 5)]
    [InlineData(65536L, 1)]
    [InlineData(65535L, 0)]
    [InlineData((1L << 53) - 1, 63)]
    public void AnItemsShardIsTheLowSixRandomBitsOfItsId(long id, int shard) => Assert.Equal(shard, ShardKey.Of(id));

    [Fact]
    public void ANewIdCanBePlacedOnAShardAndIsStillIssuedAndRandom()
    {
        for (var shard = 0; shard < ShardKey.LogicalShards; shard++)
        {
            var id = MediaIds.NewId(Key, shard);

            Assert.Equal(shard, ShardKey.Of(id));
            Assert.True(MediaIds.IsIssued(id, Key));
        }

        Assert.Equal(200, Enumerable.Range(0, 200).Select(_ => MediaIds.NewId(Key, 5)).Distinct().Count());
    }

    [Fact]
    public void RandomIdsSpreadOverTheShards()
    {
        var counts = new int[ShardKey.LogicalShards];
        for (var i = 0; i < 64_000; i++)
        {
            counts[ShardKey.Of(MediaIds.NewId(Key))]++;
        }

        Assert.All(counts, c => Assert.InRange(c, 800, 1200)); // 1000 expected; far outside 6 sigma otherwise
    }

    [Fact]
    public void TheSeedSpreadsTheShardsEvenlyInNameOrder()
    {
        var map = ShardMap.Seed(["db1", "db0"]);

        Assert.Equal(["db0", "db1"], map.Databases);
        Assert.Equal(32, map.ShardsOn("db0").Count);
        Assert.Equal(32, map.ShardsOn("db1").Count);
        Assert.Equal("db0", map.Placements[0].Database);
        Assert.Equal("db1", map.Placements[1].Database);
        Assert.Equal(ShardKey.LogicalShards, ShardMap.Seed(["main"]).ShardsOn("main").Count);
        Assert.Throws<ArgumentException>(() => ShardMap.Seed([]));
    }

    [Fact]
    public void AnItemIsRoutedToItsShardsDatabase()
    {
        var map = ShardMap.Seed(["db0", "db1"]).With(50, "db1", ShardState.Open);

        Assert.Equal(new ShardPlacement(50, "db1", ShardState.Open), map.Route(4502084102828374L));
        Assert.Equal(2, map.Epoch);
        Assert.Equal("db1", map.Route(MediaIds.NewId(Key, 7)).Database);
    }

    [Fact]
    public void NewItemsGoToOpenShardsOfHealthyDatabases()
    {
        var map = ShardMap.Seed(["db0", "db1"]).With(1, "db1", ShardState.Draining);
        var random = new Random(7);

        var chosen = Enumerable.Range(0, 2000).Select(_ => map.Choose(d => d == "db1", random)!.Value).ToHashSet();

        Assert.DoesNotContain(1, chosen);
        Assert.All(chosen, s => Assert.Equal("db1", map.Placements[s].Database));
        Assert.Equal(31, chosen.Count);
        // No healthy database: any open shard (the creation meets the outage); nothing open: none.
        Assert.NotNull(map.Choose(_ => false, random));
        var drained = Enumerable.Range(0, ShardKey.LogicalShards).Aggregate(map, (m, s) => m.With(s, m.Placements[s].Database, ShardState.Draining));
        Assert.Null(drained.Choose(_ => true, random));
    }

    [Fact]
    public void AMapNamingAnUnconfiguredDatabaseIsRefused()
    {
        var map = ShardMap.Seed(["db0", "db1"]);

        Assert.Null(map.Check(new HashSet<string> { "db0", "db1", "db2" }));
        Assert.Contains("db1", map.Check(new HashSet<string> { "db0" }));
        Assert.Throws<ArgumentException>(() => ShardMap.Of(1, map.Placements.Take(63)));
    }

    [Theory]
    [InlineData("db0", "Host=a;Database=m", "db1", "Host=a;Database=m2", true)]
    [InlineData("db0", "Host=a;Database=m", "db1", "Host=A;Port=5432;Database=m", false)] // one database under two names
    [InlineData("Db0", "Host=a;Database=m", "db1", "Host=a;Database=m2", false)]
    [InlineData("db0", "Host=a", "db1", "Host=a;Database=m2", false)]
    [InlineData("db0", "not a connection string", "db1", "Host=a;Database=m2", false)]
    public void StorageOptionsAreChecked(string name0, string cs0, string name1, string cs1, bool valid)
    {
        var options = new StorageOptions { Shards = new() { [name0] = cs0, [name1] = cs1 } };

        Assert.Equal(valid, !options.Validate(new ValidationContext(options)).Any());
    }

    [Fact]
    public void NoShardsMeansEverythingOnTheControlDatabase() =>
        Assert.Equal(new Dictionary<string, string> { ["main"] = "Host=x;Database=y" }, new StorageOptions().Databases("Host=x;Database=y"));
}
