using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using MediaService.Grains.Interfaces;

namespace MediaService.Grains.Domain;

/// <summary>
/// Which events a change of an item makes, and the item's outbox, pure so that unit tests drive them. A change makes
/// its events in the same state write (<see cref="MediaItemState.Outbox"/>), so there is no change without its event and
/// no event without its change. Only transitions a customer's backend reacts to make events: bytes arriving, leases
/// and part numbers never do, and partial uploads of a concatenation (pieces, not media) make none.
/// </summary>
public static class MediaEventRules
{
    /// <summary>Events an item's outbox holds at most. A change that would need more waits (503) until the outbox is
    /// handed to the delivery queue: no change without its event.</summary>
    public const int MaxOutbox = 32;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>The events of the change from <paramref name="before"/> to <paramref name="after"/>, which becomes
    /// version <paramref name="version"/> of item <paramref name="id"/>; in the order they happened.</summary>
    public static ImmutableArray<MediaEvent> For(MediaItemState before, MediaItemState after, long id, long version, DateTimeOffset now, Func<string>? newId = null)
    {
        if (after.Concat == ConcatKind.Partial || before.Concat == ConcatKind.Partial)
        {
            return [];
        }

        newId ??= NewEventId;
        var events = ImmutableArray.CreateBuilder<MediaEvent>();
        void Add(string type, object data) => events.Add(new MediaEvent(newId(), type, id, version, now, Body(type, now, data)));

        if (!before.Exists && after.Exists)
        {
            Add(MediaEventTypes.Created, new CreatedData(id, version, after.FileName, after.ContentType, after.DeclaredLength, after.CreatedAt,
                after.Concat == ConcatKind.Final ? "final" : "single"));
        }

        if (before.Status != MediaStatus.Stored && after.Status == MediaStatus.Stored)
        {
            Add(MediaEventTypes.Stored, new StoredData(id, version, after.FileName, after.ContentType, after.Size, after.Sha256, after.StoredAt ?? now));
        }

        if (before.Processing is not { Status: not ProcessingStatus.Processing } && after.Processing is { Status: not ProcessingStatus.Processing and not ProcessingStatus.None } done)
        {
            Add(MediaEventTypes.Processed, new ProcessedData(id, version, done.Status.ToString().ToLowerInvariant(), done.Reason, done.Facts,
                [.. done.Renditions.Select(r => new RenditionData(r.Name, r.ContentType, r.Size, r.Width, r.Height, r.Sha256, $"/media/{id}/renditions/{r.Name}"))]));
        }

        if (before.Exists && after.Status is not MediaStatus.Deleted && !ReferenceEquals(before.Annotations, after.Annotations)
            && Changed(before.Annotations, after.Annotations) is { Count: > 0 } changed)
        {
            Add(MediaEventTypes.Updated, new UpdatedData(id, version, changed));
        }

        if (before.Status is not MediaStatus.Deleted && after.Status is MediaStatus.Deleted && before.Exists)
        {
            Add(MediaEventTypes.Deleted, new DeletedData(id, version, now));
        }

        if (before.Status is MediaStatus.Receiving && after.Status is MediaStatus.Expired)
        {
            Add(MediaEventTypes.Expired, new ExpiredData(id, version, before.FileName, before.Offset, now));
        }

        return events.ToImmutable();
    }

    /// <summary>The outbox after a change: the events still pending, then the change's own. A transition that builds
    /// its state afresh (a delete starts from an empty state) keeps the pending events this way.</summary>
    public static ImmutableArray<MediaEvent> Carry(ImmutableArray<MediaEvent> pending, ImmutableArray<MediaEvent> added) =>
        added.IsDefaultOrEmpty ? pending : pending.IsDefaultOrEmpty ? added : pending.AddRange(added);

    /// <summary>The outbox without the events handed off to the delivery queue.</summary>
    public static ImmutableArray<MediaEvent> Trim(ImmutableArray<MediaEvent> outbox, IReadOnlySet<string> handedOff) =>
        outbox.IsDefaultOrEmpty ? [] : outbox.RemoveAll(e => handedOff.Contains(e.EventId));

    /// <summary>A new event id: <c>evt_</c> and 16 random bytes, URL-safe base64 (no dot, as Standard Webhooks asks).</summary>
    public static string NewEventId() => "evt_" + System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));

    /// <summary>The names of the annotation fields that differ.</summary>
    public static IReadOnlyList<string> Changed(Annotations before, Annotations after)
    {
        var changed = new List<string>();
        if (before.Title != after.Title)
        {
            changed.Add("title");
        }

        if (before.Description != after.Description)
        {
            changed.Add("description");
        }

        if (!before.Tags.SequenceEqual(after.Tags))
        {
            changed.Add("tags");
        }

        if (!before.Keywords.SequenceEqual(after.Keywords))
        {
            changed.Add("keywords");
        }

        if (!before.Custom.SequenceEqual(after.Custom))
        {
            changed.Add("custom");
        }

        return changed;
    }

    private static string Body(string type, DateTimeOffset timestamp, object data) =>
        JsonSerializer.Serialize(new Envelope(type, timestamp.ToUniversalTime(), data), Json);

    private sealed record Envelope(string Type, DateTimeOffset Timestamp, object Data);

    private sealed record CreatedData(long Id, long Version, string? FileName, string ContentType, long? DeclaredLength, DateTimeOffset CreatedAt, string Upload);

    private sealed record StoredData(long Id, long Version, string? FileName, string ContentType, long Size, string? Sha256, DateTimeOffset StoredAt);

    private sealed record ProcessedData(long Id, long Version, string Status, string? Reason, MediaFacts? Facts, IReadOnlyList<RenditionData> Renditions);

    private sealed record RenditionData(string Name, string ContentType, long Size, int? Width, int? Height, string Sha256, string Url);

    private sealed record UpdatedData(long Id, long Version, IReadOnlyList<string> Changed);

    private sealed record DeletedData(long Id, long Version, DateTimeOffset DeletedAt);

    private sealed record ExpiredData(long Id, long Version, string? FileName, long ReceivedBytes, DateTimeOffset ExpiredAt);
}
