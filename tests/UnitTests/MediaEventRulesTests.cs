using System.Collections.Immutable;
using System.Text.Json;
using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;

namespace MediaService.UnitTests;

public sealed class MediaEventRulesTests
{
    private const long Id = 4_242_424_242;
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    private static MediaItemState Created(ConcatKind concat = ConcatKind.None) =>
        MediaItemLifecycle.Create(MediaItemState.Empty, Id, new CreateMediaItem("a.jpg", "image/jpeg", 10, null, TimeSpan.FromHours(1), concat), 1L << 40, T0, "dev");

    private static MediaItemState Stored(MediaItemState state) =>
        state with { Status = MediaStatus.Stored, Size = 10, Sha256 = new string('a', 64), StoredAt = T0 };

    private static ImmutableArray<MediaEvent> Events(MediaItemState before, MediaItemState after) => MediaEventRules.For(before, after, Id, before.Version + 1, T0);

    private static string[] Types(ImmutableArray<MediaEvent> events) => [.. events.Select(e => e.Type)];

    private static JsonElement Data(MediaEvent e) => JsonDocument.Parse(e.Body).RootElement.GetProperty("data");

    [Fact]
    public void EachTransitionMakesExactlyItsEvent()
    {
        var created = Created();
        var stored = Stored(created);
        var processed = stored with { Processing = new ProcessingState { Status = ProcessingStatus.Ready, Facts = new MediaFacts { Kind = MediaKind.Image, Width = 4 } } };
        var annotated = processed with { Annotations = processed.Annotations with { Title = "t", Tags = ["a"] } };
        var deleted = MediaItemLifecycle.Delete(annotated, null, T0);

        Assert.Equal(["media.created"], Types(Events(MediaItemState.Empty, created)));
        Assert.Equal(["media.stored"], Types(Events(created, stored)));
        Assert.Equal(["media.processed"], Types(Events(stored with { Processing = new ProcessingState { Status = ProcessingStatus.Processing } }, processed)));
        Assert.Equal(["media.updated"], Types(Events(processed, annotated)));
        Assert.Equal(["title", "tags"], Data(Events(processed, annotated)[0]).GetProperty("changed").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(["media.deleted"], Types(Events(annotated, deleted)));
        Assert.Equal(["upload.expired"], Types(Events(created, MediaItemLifecycle.Expire(created, T0.AddHours(2)))));
        // A one-shot upload: created and stored in one write, in that order.
        Assert.Equal(["media.created", "media.stored"], Types(Events(MediaItemState.Empty, Stored(created))));
    }

    [Fact]
    public void BytesLeasesAndUnchangedAnnotationsMakeNoEvent()
    {
        var created = Created();

        Assert.Empty(Events(created, created with { Size = 5, Lease = 7, ReservedPartNumber = 3, TailSize = 2 }));
        Assert.Empty(Events(created, created with { Annotations = created.Annotations with { } }));
        Assert.Empty(Events(created, created with { Processing = new ProcessingState { Status = ProcessingStatus.Processing, Attempt = 2 } }));
    }

    [Fact]
    public void PartialUploadsOfAConcatenationMakeNone()
    {
        var partial = Created(ConcatKind.Partial);

        Assert.Empty(Events(MediaItemState.Empty, partial));
        Assert.Empty(Events(partial, Stored(partial)));
        Assert.Empty(Events(Stored(partial), MediaItemLifecycle.Delete(Stored(partial), null, T0)));
    }

    [Fact]
    public void TheBodyIsTheEnvelopeWithTheIdAndVersionAndNoGps()
    {
        var e = Events(MediaItemState.Empty, Created()).Single();
        var body = JsonDocument.Parse(e.Body).RootElement;

        Assert.Equal("media.created", body.GetProperty("type").GetString());
        Assert.Equal(T0, body.GetProperty("timestamp").GetDateTimeOffset());
        Assert.Equal(Id, body.GetProperty("data").GetProperty("id").GetInt64());
        Assert.Equal(1, body.GetProperty("data").GetProperty("version").GetInt64());
        Assert.Equal("a.jpg", body.GetProperty("data").GetProperty("fileName").GetString());
        Assert.Equal(1, e.ItemVersion);
        Assert.Matches("^evt_[A-Za-z0-9_-]{22}$", e.EventId);
        Assert.DoesNotContain(".", e.EventId);
        Assert.DoesNotContain("gps", e.Body, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void TheOutboxSurvivesADeleteAndTrimsOnlyWhatWasHandedOff()
    {
        var created = Created();
        var pending = Events(MediaItemState.Empty, created);
        var withOutbox = created with { Outbox = pending };
        var deleted = MediaItemLifecycle.Delete(withOutbox, null, T0);
        var added = Events(withOutbox, deleted);

        var outbox = MediaEventRules.Carry(deleted.Outbox, added);

        Assert.Equal(["media.created", "media.deleted"], Types(outbox));
        Assert.Equal("dev", deleted.Owner); // the hand-off needs whose it was
        Assert.Equal(["media.deleted"], Types(MediaEventRules.Trim(outbox, new HashSet<string> { pending[0].EventId })));
    }
}
