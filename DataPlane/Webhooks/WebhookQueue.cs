using Npgsql;
using NpgsqlTypes;
using Polly;
using Polly.Registry;

namespace MediaService.DataPlane.Webhooks;

/// <summary>One event of an item's outbox, as the queue takes it.</summary>
public sealed record OutboxEvent(string EventId, string Type, long ItemVersion, DateTimeOffset OccurredAt, string Body);

/// <summary>
/// The producer side of the delivery queue (table <c>webhook_deliveries</c>, migration 009): a media item hands the
/// events of its outbox over here, in one statement that queues one row per (matching subscription, event). Repeating a
/// hand-off (a crash between it and the outbox's trim) inserts nothing: the rows are unique by (subscription, event).
/// Only subscriptions of the item's owner, enabled, asking for the event's type and made before the event are matched.
/// </summary>
public sealed class WebhookQueue(NpgsqlDataSource dataSource, ResiliencePipelineProvider<string> pipelines) : IEventHandOff
{
    private readonly ResiliencePipeline _pipeline = pipelines.GetPipeline(Resilience.Postgres);

    /// <summary>Queues the events; returns the subscriptions that have pending rows of them (new or queued before),
    /// which must be told.</summary>
    public Task<IReadOnlyList<long>> HandOffAsync(string serviceId, string owner, long mediaId, IReadOnlyList<OutboxEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0 || owner.Length == 0)
        {
            // Items made inside the cluster have no owner, and so no subscriptions.
            return Task.FromResult<IReadOnlyList<long>>([]);
        }

        return _pipeline.RunAsync<IReadOnlyList<long>>(idempotent: true, async ct =>
        {
            await using var command = dataSource.CreateCommand("""
                WITH ev AS (
                    SELECT * FROM unnest(@ids, @types, @versions, @times, @bodies)
                        WITH ORDINALITY AS e(event_id, event_type, item_version, occurred_at, body, ord)),
                subs AS (
                    SELECT id, events, created_at FROM webhook_subscriptions
                    WHERE service_id = @service AND owner = @owner AND disabled_at IS NULL),
                ins AS (
                    INSERT INTO webhook_deliveries (subscription_id, event_id, event_type, media_id, item_version, occurred_at, body)
                    SELECT s.id, e.event_id, e.event_type, @media, e.item_version, e.occurred_at, e.body
                    FROM ev e JOIN subs s ON (e.event_type = ANY (s.events) OR '*' = ANY (s.events)) AND s.created_at <= e.occurred_at
                    ORDER BY s.id, e.ord
                    ON CONFLICT (subscription_id, event_id) DO NOTHING
                    RETURNING subscription_id)
                SELECT subscription_id FROM ins
                UNION
                SELECT d.subscription_id FROM webhook_deliveries d JOIN subs s ON s.id = d.subscription_id
                WHERE d.event_id = ANY (@ids) AND d.status = 'pending'
                """);
            var p = command.Parameters;
            p.AddWithValue("service", serviceId);
            p.AddWithValue("owner", owner);
            p.AddWithValue("media", mediaId);
            p.AddWithValue("ids", events.Select(e => e.EventId).ToArray());
            p.AddWithValue("types", events.Select(e => e.Type).ToArray());
            p.AddWithValue("versions", events.Select(e => e.ItemVersion).ToArray());
            p.Add(new NpgsqlParameter("times", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = events.Select(e => e.OccurredAt.UtcDateTime).ToArray() });
            p.AddWithValue("bodies", events.Select(e => e.Body).ToArray());
            var subscriptions = new List<long>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                subscriptions.Add(reader.GetInt64(0));
            }

            return subscriptions;
        }, cancellationToken);
    }
}
