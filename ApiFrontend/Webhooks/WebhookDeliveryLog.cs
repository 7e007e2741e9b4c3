using MediaService.DataPlane;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Polly;
using Polly.Registry;

namespace MediaService.ApiFrontend.Webhooks;

/// <summary>One attempt of a delivery.</summary>
/// <param name="Attempt">Its number, from 1.</param>
/// <param name="StartedAt">When it was sent.</param>
/// <param name="StatusCode">The receiver's status; null when it did not answer.</param>
/// <param name="LatencyMs">Until the answer or the failure.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="Manual">A redelivery the owner asked for.</param>
public sealed record WebhookAttemptEntry(int Attempt, DateTimeOffset StartedAt, int? StatusCode, int LatencyMs, string? Error, bool Manual);

/// <summary>One event queued for a subscription, and how its delivery went.</summary>
/// <param name="Id">The delivery's id (for redelivery).</param>
/// <param name="EventId">The event's id, sent as <c>webhook-id</c> on every attempt.</param>
/// <param name="Type">The event's type.</param>
/// <param name="MediaId">The item.</param>
/// <param name="ItemVersion">The item's version the event reports.</param>
/// <param name="Status"><c>pending</c>, <c>delivered</c> or <c>failed</c>.</param>
/// <param name="Attempts">Attempts made.</param>
/// <param name="CreatedAt">When it was queued.</param>
/// <param name="NextAttemptAt">When a pending one is tried next.</param>
/// <param name="FinishedAt">When it was delivered or failed.</param>
/// <param name="RecentAttempts">The last attempts, newest first (at most 5).</param>
public sealed record WebhookDeliveryEntry(
    long Id, string EventId, string Type, long MediaId, long ItemVersion, string Status, int Attempts, DateTimeOffset CreatedAt,
    DateTimeOffset? NextAttemptAt, DateTimeOffset? FinishedAt, IReadOnlyList<WebhookAttemptEntry> RecentAttempts);

/// <summary>A page of a subscription's deliveries, newest first.</summary>
/// <param name="Items">The deliveries.</param>
/// <param name="Next">The cursor of the next page, when there is one.</param>
public sealed record WebhookDeliveryPage(IReadOnlyList<WebhookDeliveryEntry> Items, string? Next);

/// <summary>
/// Reads a subscription's delivery log (tables <c>webhook_deliveries</c> and <c>webhook_attempts</c>, migration 009) for
/// its owner: every query joins the subscription on the owner, so another owner's log is not found. Read-only: the
/// subscription's delivery grain is the only writer of deliveries.
/// </summary>
public sealed class WebhookDeliveryLog(NpgsqlDataSource dataSource, ResiliencePipelineProvider<string> pipelines, IOptions<ClusterOptions> cluster)
{
    private readonly ResiliencePipeline _pipeline = pipelines.GetPipeline(Resilience.Postgres);
    private readonly string _service = cluster.Value.ServiceId;

    /// <summary>A page of deliveries older than <paramref name="before"/> (a delivery id), optionally of one status.</summary>
    public Task<WebhookDeliveryPage> ListAsync(string owner, long subscriptionId, string? status, long? before, int limit, CancellationToken cancellationToken) =>
        _pipeline.RunAsync(idempotent: true, async ct =>
        {
            await using var command = dataSource.CreateCommand("""
                SELECT d.id, d.event_id, d.event_type, d.media_id, d.item_version, d.status, d.attempts, d.created_at,
                       CASE WHEN d.status = 'pending' THEN d.next_attempt_at END, d.finished_at,
                       COALESCE((SELECT json_agg(a ORDER BY a.attempt DESC) FROM (
                           SELECT attempt, started_at, status_code, latency_ms, error, manual FROM webhook_attempts
                           WHERE delivery_id = d.id ORDER BY attempt DESC LIMIT 5) a), '[]')::text
                FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
                WHERE s.service_id = @service AND s.owner = @owner AND s.id = @subscription
                  AND (@status::text IS NULL OR d.status = @status) AND (@before::bigint IS NULL OR d.id < @before)
                ORDER BY d.id DESC LIMIT @limit
                """);
            var p = command.Parameters;
            p.AddWithValue("service", _service);
            p.AddWithValue("owner", owner);
            p.AddWithValue("subscription", subscriptionId);
            p.AddWithValue("status", NpgsqlTypes.NpgsqlDbType.Text, (object?)status ?? DBNull.Value);
            p.AddWithValue("before", NpgsqlTypes.NpgsqlDbType.Bigint, (object?)before ?? DBNull.Value);
            p.AddWithValue("limit", (long)limit + 1);
            var items = new List<WebhookDeliveryEntry>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                items.Add(new WebhookDeliveryEntry(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4),
                    reader.GetString(5), reader.GetInt32(6), Time(reader, 7)!.Value, Time(reader, 8), Time(reader, 9), Attempts(reader.GetString(10))));
            }

            var more = items.Count > limit;
            if (more)
            {
                items.RemoveAt(items.Count - 1);
            }

            return new WebhookDeliveryPage(items, more ? items[^1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture) : null);
        }, cancellationToken);

    private static IReadOnlyList<WebhookAttemptEntry> Attempts(string json) =>
        [.. System.Text.Json.JsonSerializer.Deserialize<List<AttemptRow>>(json)!.Select(a =>
            new WebhookAttemptEntry(a.attempt, a.started_at, a.status_code, a.latency_ms, a.error, a.manual))];

    private static DateTimeOffset? Time(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : new DateTimeOffset(reader.GetDateTime(ordinal), TimeSpan.Zero);

#pragma warning disable IDE1006 // the columns' names, as json_agg writes them
    private sealed record AttemptRow(int attempt, DateTimeOffset started_at, int? status_code, int latency_ms, string? error, bool manual);
#pragma warning restore IDE1006
}
