using System.Text.Json;
using MediaService.ApiFrontend.Media;
using MediaService.DataPlane;
using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;

namespace MediaService.UnitTests;

public sealed class AnnotationRulesTests
{
    private static readonly MetadataOptions Limits = new() { MaxTags = 3, MaxTagLength = 12, MaxKeywords = 2, MaxCustomFields = 2, MaxTitleLength = 20 };

    private static (Annotations Next, IReadOnlyDictionary<string, string[]> Errors) Apply(Annotations current, string json)
    {
        using var document = JsonDocument.Parse(json);
        var (patch, errors) = MergePatch.Read(document.RootElement);
        Assert.Empty(errors);
        return AnnotationRules.Apply(current, patch!, Limits);
    }

    private static Annotations Valid(Annotations current, string json)
    {
        var (next, errors) = Apply(current, json);
        Assert.Empty(errors);
        return next;
    }

    [Fact]
    public void AMergePatchSetsKeepsAndRemoves()
    {
        var first = Valid(Annotations.Empty, """{"title":" Sunset ","description":"Over the bay.","tags":["Beach","Golden Hour"],"keywords":["sea"],"custom":{"camera":"X100","lens":"23mm"}}""");

        Assert.Equal("Sunset", first.Title);
        Assert.Equal(["beach", "golden-hour"], first.Tags.ToArray());
        Assert.Equal("X100", first.Custom["camera"]);

        var second = Valid(first, """{"title":null,"custom":{"lens":null,"iso":"200"}}""");
        Assert.Null(second.Title); // null removes
        Assert.Equal("Over the bay.", second.Description); // absent keeps
        Assert.Equal(["beach", "golden-hour"], second.Tags.ToArray());
        Assert.Equal(new Dictionary<string, string> { ["camera"] = "X100", ["iso"] = "200" }, second.Custom);

        var third = Valid(second, """{"tags":null,"custom":null}""");
        Assert.Empty(third.Tags);
        Assert.Empty(third.Custom);
        Assert.Equal("Over the bay.", third.Description);
    }

    [Fact]
    public void TagsAreNormalizedAndDeduplicatedKeywordsDeduplicatedIgnoringCase()
    {
        var next = Valid(Annotations.Empty, """{"tags":["  New   York ","new-york","ÉTÉ"],"keywords":["Sea","sea"]}""");

        Assert.Equal(["new-york", "été"], next.Tags.ToArray());
        Assert.Equal(["Sea"], next.Keywords.ToArray());
    }

    [Fact]
    public void EveryBrokenRuleIsNamedByItsField()
    {
        var (_, errors) = Apply(Annotations.Empty,
            """{"title":"a title that is far too long","tags":["ok","-bad","x","y"],"keywords":["a","b","c"],"custom":{"9lives":"x","a":"1","b":"2","c":"3"},"description":"bell\u0007"}""");

        Assert.Contains("title", errors.Keys);
        Assert.Contains("tags", errors.Keys); // four tags, three allowed
        Assert.Contains("tags[1]", errors.Keys);
        Assert.Contains("keywords", errors.Keys);
        Assert.Contains("custom.9lives", errors.Keys);
        Assert.Contains("custom", errors.Keys); // three valid fields, two allowed
        Assert.Contains("description", errors.Keys);
    }

    [Fact]
    public void BidiOverridesAreRefusedButEmojiSequencesAreNot()
    {
        Assert.Contains("title", Apply(Annotations.Empty, "{\"title\":\"abc\\u202Egpj.exe\"}").Errors.Keys);
        Assert.Empty(Apply(Annotations.Empty, "{\"title\":\"family \\uD83D\\uDC68\\u200D\\uD83D\\uDC69\"}").Errors);
    }

    [Theory]
    [InlineData("[]", "$")]
    [InlineData("""{"title":5}""", "title")]
    [InlineData("""{"tags":"a"}""", "tags")]
    [InlineData("""{"tags":["a",3]}""", "tags[1]")]
    [InlineData("""{"custom":{"a":1}}""", "custom.a")]
    [InlineData("""{"custom":[]}""", "custom")]
    [InlineData("""{"id":1}""", "id")]
    [InlineData("""{"status":"ready"}""", "status")]
    public void APatchOfTheWrongShapeNamesTheField(string json, string field)
    {
        using var document = JsonDocument.Parse(json);
        var (patch, errors) = MergePatch.Read(document.RootElement);

        Assert.Null(patch);
        Assert.Contains(field, errors.Keys);
    }

    [Fact]
    public void AnnotatingChecksTheVersionAndTheRules()
    {
        var state = MediaItemState.Empty with { Status = MediaStatus.Stored, Version = 4 };
        var patch = new AnnotationsPatch { SetTitle = true, Title = "x" };

        Assert.Equal("x", MediaItemLifecycle.Annotate(state, patch, 4, Limits, DateTimeOffset.UnixEpoch).Annotations.Title);
        Assert.Equal(MediaErrorCode.PreconditionFailed,
            Assert.Throws<MediaException>(() => MediaItemLifecycle.Annotate(state, patch, 3, Limits, DateTimeOffset.UnixEpoch)).Code);
        var invalid = Assert.Throws<MediaException>(() => MediaItemLifecycle.Annotate(state, patch with { Title = new string('t', 21) }, null, Limits, DateTimeOffset.UnixEpoch));
        Assert.Equal(MediaErrorCode.InvalidInput, invalid.Code);
        Assert.Contains("title", invalid.Errors!.Keys);
    }

    [Fact]
    public void ADeletedItemIsATombstoneThatAnswersAsIfItNeverExisted()
    {
        var state = MediaItemState.Empty with { Status = MediaStatus.Stored, Version = 2, StorageKey = "media/1/original", FileName = "a.jpg" };

        var deleted = MediaItemLifecycle.Delete(state, 2, DateTimeOffset.UnixEpoch);

        Assert.Equal(MediaStatus.Deleted, deleted.Status);
        Assert.Equal("media/1/original", deleted.StorageKey); // kept, so that releasing the bytes can be retried
        Assert.Null(deleted.FileName);
        Assert.True(deleted.Exists); // the id is never handed out again
        Assert.Equal(MediaErrorCode.NotFound, Assert.Throws<MediaException>(() => MediaItemLifecycle.Delete(deleted, null, DateTimeOffset.UnixEpoch)).Code);
        Assert.Equal(MediaErrorCode.NotFound,
            Assert.Throws<MediaException>(() => MediaItemLifecycle.Annotate(deleted, new AnnotationsPatch(), null, Limits, DateTimeOffset.UnixEpoch)).Code);
        Assert.Equal(MediaErrorCode.PreconditionFailed, Assert.Throws<MediaException>(() => MediaItemLifecycle.Delete(state, 1, DateTimeOffset.UnixEpoch)).Code);
    }

    [Fact]
    public void OnlyChangesTheIndexShowsReachTheIndex()
    {
        var receiving = MediaItemState.Empty with { Status = MediaStatus.Receiving, Size = 10 };

        Assert.False(MediaIndexing.Changes(receiving, receiving with { Size = 20, Version = 9 })); // another part arrived
        Assert.True(MediaIndexing.Changes(receiving, receiving with { Status = MediaStatus.Stored }));
        Assert.True(MediaIndexing.Changes(receiving, receiving with { Annotations = Annotations.Empty with { Title = "t" } }));
        var entry = MediaIndexing.Entry(receiving with { Annotations = Annotations.Empty with { Tags = ["a"] } }, 7);
        Assert.Equal((7L, "receiving"), (entry.MediaId, entry.Status));
        Assert.Equal(["a"], entry.Tags);
    }

    [Theory]
    [InlineData(SearchSort.Created, 638_000_000_000_000_000L, 0f, 42L)]
    [InlineData(SearchSort.Relevance, 0L, 0.0607927f, 9_007_199_254_740_991L)]
    public void ACursorRoundTripsThroughItsToken(SearchSort sort, long ticks, float rank, long id)
    {
        var cursor = new SearchCursor(sort, ticks, rank, id);

        var token = cursor.Encode();

        Assert.Matches("^[A-Za-z0-9_-]+$", token);
        Assert.Equal(cursor, SearchCursor.Decode(token));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-cursor")]
    [InlineData("eHx5fHp8dw")]
    public void AnythingElseIsNoCursor(string token) => Assert.Null(SearchCursor.Decode(token));
}
