namespace MediaService.DataPlane.Webhooks;

/// <summary>What an item's grain needs of webhook delivery: take the events of its outbox over, once each, however often
/// it is asked.</summary>
public interface IEventHandOff
{
    /// <summary>Queues the events for the owner's matching subscriptions; returns the subscriptions that have pending
    /// deliveries of them (new or queued before), which must be told.</summary>
    Task<IReadOnlyList<long>> HandOffAsync(string serviceId, string owner, long mediaId, IReadOnlyList<OutboxEvent> events, CancellationToken cancellationToken);
}
