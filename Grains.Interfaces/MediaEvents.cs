using System.Collections.Immutable;

namespace MediaService.Grains.Interfaces;

/// <summary>The event types a webhook subscription may ask for.</summary>
public static class MediaEventTypes
{
    public const string Created = "media.created";
    public const string Stored = "media.stored";
    public const string Processed = "media.processed";
    public const string Updated = "media.updated";
    public const string Deleted = "media.deleted";
    public const string Expired = "upload.expired";

    /// <summary>Every event type, in the order the README lists them.</summary>
    public static readonly ImmutableArray<string> All = [Created, Stored, Processed, Updated, Deleted, Expired];
}

/// <summary>
/// One event of a media item, born in the same state write as the change it reports and kept in the item's outbox
/// until it is handed to the delivery queue. Its body is frozen at birth: every attempt, retry and redelivery sends (and
/// signs) exactly these bytes, under the same <see cref="EventId"/>.
/// </summary>
/// <param name="EventId">The Standard Webhooks message id (<c>webhook-id</c>): <c>evt_</c> and 22 URL-safe characters.</param>
/// <param name="Type">One of <see cref="MediaEventTypes"/>.</param>
/// <param name="MediaId">The item.</param>
/// <param name="ItemVersion">The item's version the change made: events of an item are delivered in this order.</param>
/// <param name="OccurredAt">When the change was made.</param>
/// <param name="Body">The UTF-8 JSON body <c>{"type","timestamp","data"}</c>.</param>
[GenerateSerializer, Immutable, Alias("MediaService.MediaEvent")]
public sealed record MediaEvent(
    [property: Id(0)] string EventId,
    [property: Id(1)] string Type,
    [property: Id(2)] long MediaId,
    [property: Id(3)] long ItemVersion,
    [property: Id(4)] DateTimeOffset OccurredAt,
    [property: Id(5)] string Body);
