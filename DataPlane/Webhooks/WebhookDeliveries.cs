using Npgsql;
using Polly;
using Polly.Registry;

namespace MediaService.DataPlane.Webhooks;

/// <summary>What the delivery of one subscription needs to know about it.</summary>
public sealed record WebhookEndpoint(
    long Id, string Owner, Uri Url, string Secret, string? PreviousSecret, DateTimeOffset? PreviousUntil, DateTimeOffset? DisabledAt,
    DateTimeOffset? LastSuccessAt, DateTimeOffset CreatedAt)
{
    /// <summary>The secrets that sign now: the current one, and the previous one during a rotation's overlap.</summary>
    public IReadOnlyList<string> SigningSecrets(DateTimeOffset now) =>
        PreviousSecret is { } previous && PreviousUntil > now ? [Secret, previous] : [Secret];
}

/// <summary>A queued delivery whose turn it is.</summary>
public sealed record DueDelivery(long Id, string EventId, string Type, long MediaId, DateTimeOffset OccurredAt, string Body, int Attempts, bool Manual);

/// <summary>How one attempt ended, to record.</summary>
/// <param name="DeliveryId">The delivery.</param>
/// <param name="Attempt">Its number (from 1).</param>
/// <param name="StartedAt">When it was sent.</param>
/// <param name="LatencyMs">Until the answer, or the failure.</param>
/// <param name="StatusCode">The receiver's status; null when there was no answer.</param>
/// <param name="Error">Why it failed; null when delivered.</param>
/// <param name="Manual">An owner's redelivery.</param>
/// <param name="Outcome">delivered, pending (retried at <paramref name="NextAttemptAt"/>) or failed.</param>
/// <param name="NextAttemptAt">When a pending delivery is tried again.</param>
public sealed record AttemptRecord(
    long DeliveryId, int Attempt, DateTimeOffset StartedAt, int LatencyMs, int? StatusCode, string? Error, bool Manual, string Outcome,
    DateTimeOffset? NextAttemptAt);

/// <summary>
/// The consumer side of the delivery queue: what a subscription's delivery grain reads and writes. Only that grain
/// changes a delivery once it is queued (its status, attempts and schedule), and only it disables a subscription.
/// </summary>
public sealed class WebhookDeliveries(NpgsqlDataSource dataSource, ResiliencePipelineProvider<string> pipelines)
{
    private readonly ResiliencePipeline _pipeline = pipelines.GetPipeline(Resilience.Postgres);

    /// <summary>The subscription, or null when it no longer exists.</summary>
    public Task<WebhookEndpoint?> EndpointAsync(string serviceId, long id, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand("""
                SELECT owner, url, secret, previous_secret, previous_until, disabled_at, last_success_at, created_at
                FROM webhook_subscriptions WHERE service_id = @service AND id = @id
                """);
            command.Parameters.AddWithValue("service", serviceId);
            command.Parameters.AddWithValue("id", id);
            await using var reader = await command.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
            {
                return null;
            }

            return new WebhookEndpoint(id, reader.GetString(0), new Uri(reader.GetString(1)), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), Time(reader, 4), Time(reader, 5), Time(reader, 6), Time(reader, 7)!.Value);
        }, cancellationToken);

    /// <summary>
    /// Deliveries whose turn it is: for each item with pending rows, its oldest (events of an item go out in order, one
    /// at a time); none of the items in <paramref name="busy"/> (one of theirs is in flight); due by
    /// <paramref name="now"/>; at most <paramref name="limit"/>, earliest due first. Also when the next of the rest
    /// falls due (null when nothing else is pending outside <paramref name="busy"/>).
    /// </summary>
    public Task<(IReadOnlyList<DueDelivery> Due, DateTimeOffset? NextDue)> DueAsync(long subscriptionId, IReadOnlyCollection<long> busy, DateTimeOffset now, int limit,
        CancellationToken cancellationToken) =>
        RunAsync<(IReadOnlyList<DueDelivery>, DateTimeOffset?)>(async ct =>
        {
            await using var command = dataSource.CreateCommand("""
                WITH heads AS (
                    SELECT DISTINCT ON (media_id) id, media_id, next_attempt_at FROM webhook_deliveries
                    WHERE subscription_id = @subscription AND status = 'pending'
                    ORDER BY media_id, id)
                SELECT d.id, d.event_id, d.event_type, d.media_id, d.occurred_at, d.next_attempt_at, d.attempts, d.manual,
                       CASE WHEN d.next_attempt_at <= @now THEN d.body END
                FROM heads h JOIN webhook_deliveries d ON d.id = h.id
                WHERE NOT (h.media_id = ANY (@busy))
                ORDER BY h.next_attempt_at, h.id
                LIMIT @limit + 1
                """);
            command.Parameters.AddWithValue("subscription", subscriptionId);
            command.Parameters.AddWithValue("busy", busy.ToArray());
            command.Parameters.AddWithValue("now", now.UtcDateTime);
            command.Parameters.AddWithValue("limit", (long)limit);
            var due = new List<DueDelivery>();
            DateTimeOffset? next = null;
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var at = Time(reader, 5)!.Value;
                if (at <= now && due.Count < limit)
                {
                    due.Add(new DueDelivery(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), Time(reader, 4)!.Value,
                        reader.GetString(8), reader.GetInt32(6), reader.GetBoolean(7)));
                }
                else
                {
                    next = next is { } n && n < at ? n : at;
                }
            }

            return (due, next);
        }, cancellationToken);

    /// <summary>Records an attempt and moves its delivery on, if the delivery still waits for this attempt (a report
    /// repeated, or from an activation that was replaced, changes nothing). A delivered one also marks the subscription's
    /// last success. False when nothing was changed.</summary>
    public Task<bool> RecordAsync(long subscriptionId, AttemptRecord attempt, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand("""
                WITH moved AS (
                    UPDATE webhook_deliveries SET attempts = @attempt, status = @outcome, next_attempt_at = COALESCE(@next, next_attempt_at),
                        last_status = @status, last_error = @error, manual = false,
                        finished_at = CASE WHEN @outcome = 'pending' THEN NULL ELSE @at END
                    WHERE id = @delivery AND subscription_id = @subscription AND status = 'pending' AND attempts = @attempt - 1
                    RETURNING id),
                logged AS (
                    INSERT INTO webhook_attempts (delivery_id, attempt, started_at, latency_ms, status_code, error, manual)
                    SELECT id, @attempt, @started, @latency, @status, @error, @manual FROM moved
                    ON CONFLICT DO NOTHING),
                success AS (
                    UPDATE webhook_subscriptions SET last_success_at = @at
                    WHERE id = @subscription AND @outcome = 'delivered' AND EXISTS (SELECT 1 FROM moved))
                SELECT count(*) FROM moved
                """);
            var p = command.Parameters;
            p.AddWithValue("subscription", subscriptionId);
            p.AddWithValue("delivery", attempt.DeliveryId);
            p.AddWithValue("attempt", attempt.Attempt);
            p.AddWithValue("outcome", attempt.Outcome);
            p.AddWithValue("next", NpgsqlTypes.NpgsqlDbType.TimestampTz, (object?)attempt.NextAttemptAt?.UtcDateTime ?? DBNull.Value);
            p.AddWithValue("status", NpgsqlTypes.NpgsqlDbType.Integer, (object?)attempt.StatusCode ?? DBNull.Value);
            p.AddWithValue("error", NpgsqlTypes.NpgsqlDbType.Text, (object?)Truncate(attempt.Error) ?? DBNull.Value);
            p.AddWithValue("at", (attempt.StartedAt + TimeSpan.FromMilliseconds(attempt.LatencyMs)).UtcDateTime);
            p.AddWithValue("started", attempt.StartedAt.UtcDateTime);
            p.AddWithValue("latency", attempt.LatencyMs);
            p.AddWithValue("manual", attempt.Manual);
            return (long)(await command.ExecuteScalarAsync(ct))! == 1;
        }, cancellationToken);

    /// <summary>Disables a subscription (it gets no new deliveries; its pending ones wait until it is enabled again).</summary>
    public Task DisableAsync(long subscriptionId, string reason, DateTimeOffset now, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand(
                "UPDATE webhook_subscriptions SET disabled_at = @now, disabled_reason = @reason WHERE id = @id AND disabled_at IS NULL");
            command.Parameters.AddWithValue("id", subscriptionId);
            command.Parameters.AddWithValue("reason", Truncate(reason)!);
            command.Parameters.AddWithValue("now", now.UtcDateTime);
            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);

    /// <summary>Queues a delivery of the subscription again, now, under the same event id. False when there is none.</summary>
    public Task<bool> RedeliverAsync(long subscriptionId, long deliveryId, DateTimeOffset now, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand("""
                UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = @now, manual = true, finished_at = NULL
                WHERE id = @delivery AND subscription_id = @subscription
                """);
            command.Parameters.AddWithValue("subscription", subscriptionId);
            command.Parameters.AddWithValue("delivery", deliveryId);
            command.Parameters.AddWithValue("now", now.UtcDateTime);
            return await command.ExecuteNonQueryAsync(ct) == 1;
        }, cancellationToken);

    /// <summary>Removes finished deliveries (and their attempts) older than <paramref name="before"/>, at most 1,000 at a time.</summary>
    public Task<int> PruneAsync(long subscriptionId, DateTimeOffset before, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand("""
                DELETE FROM webhook_deliveries WHERE id IN (
                    SELECT id FROM webhook_deliveries
                    WHERE subscription_id = @subscription AND status <> 'pending' AND finished_at < @before LIMIT 1000)
                """);
            command.Parameters.AddWithValue("subscription", subscriptionId);
            command.Parameters.AddWithValue("before", before.UtcDateTime);
            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);

    private static DateTimeOffset? Time(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : new DateTimeOffset(reader.GetDateTime(ordinal), TimeSpan.Zero);

    private static string? Truncate(string? text) => text is { Length: > 500 } ? text[..500] : text;

    private Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        _pipeline.RunAsync(idempotent: true, call, cancellationToken);
}
