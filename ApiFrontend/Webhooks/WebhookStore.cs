using MediaService.DataPlane;
using Npgsql;
using Orleans.Configuration;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;

namespace MediaService.ApiFrontend.Webhooks;

/// <summary>A webhook subscription as its owner sees it (never its secret, which is shown when made and rotated).</summary>
/// <param name="Id">Its id.</param>
/// <param name="Url">Where events are POSTed.</param>
/// <param name="Events">The event types it receives (<c>*</c>: all).</param>
/// <param name="Description">The owner's note.</param>
/// <param name="CreatedAt">When it was made: it receives events of changes made after.</param>
/// <param name="DisabledAt">When delivery disabled it (a 410 Gone, or no success for <c>Webhooks:DisableAfter</c>).</param>
/// <param name="DisabledReason">Why.</param>
/// <param name="PreviousSecretUntil">Until when the secret before the last rotation still signs.</param>
/// <param name="LastSuccessAt">The last delivery its receiver accepted.</param>
/// <param name="PendingDeliveries">Deliveries queued and not finished.</param>
public sealed record WebhookSubscription(
    long Id, string Url, IReadOnlyList<string> Events, string Description, DateTimeOffset CreatedAt, DateTimeOffset? DisabledAt,
    string? DisabledReason, DateTimeOffset? PreviousSecretUntil, DateTimeOffset? LastSuccessAt, long PendingDeliveries)
{
    /// <summary><c>enabled</c>, or <c>disabled</c> (see <see cref="DisabledReason"/>; enable it with a PATCH).</summary>
    public string Status => DisabledAt is null ? "enabled" : "disabled";
}

/// <summary>
/// Webhook subscriptions in PostgreSQL (table <c>webhook_subscriptions</c>, migration 008), per owner: every read and
/// change names the owner, so one owner never sees or touches another's (their ids answer 404). Calls go through the
/// PostgreSQL resilience pipeline (<see cref="Resilience.Postgres"/>).
/// </summary>
public sealed class WebhookStore(NpgsqlDataSource dataSource, ResiliencePipelineProvider<string> pipelines, IOptions<ClusterOptions> cluster)
{
    private const string Columns = "id, url, events, description, created_at, disabled_at, disabled_reason, previous_until, last_success_at, " +
        "(SELECT count(*) FROM webhook_deliveries d WHERE d.subscription_id = webhook_subscriptions.id AND d.status = 'pending')";
    private readonly ResiliencePipeline _pipeline = pipelines.GetPipeline(Resilience.Postgres);
    private readonly string _service = cluster.Value.ServiceId;

    /// <summary>Records a subscription, unless the owner already has <paramref name="max"/>; null then.</summary>
    public Task<WebhookSubscription?> CreateAsync(string owner, Uri url, IReadOnlyList<string> events, string description, string secret, int max,
        CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            // The count and the insert in one statement, so the limit holds for requests one after another; two of one
            // owner racing each other (READ COMMITTED) can both pass it, by one each.
            await using var command = dataSource.CreateCommand($"""
                INSERT INTO webhook_subscriptions (service_id, owner, url, events, description, secret)
                SELECT @service, @owner, @url, @events, @description, @secret
                WHERE (SELECT count(*) FROM webhook_subscriptions WHERE service_id = @service AND owner = @owner) < @max
                RETURNING {Columns}
                """);
            command.Parameters.AddWithValue("service", _service);
            command.Parameters.AddWithValue("owner", owner);
            command.Parameters.AddWithValue("url", url.AbsoluteUri);
            command.Parameters.AddWithValue("events", events.ToArray());
            command.Parameters.AddWithValue("description", description);
            command.Parameters.AddWithValue("secret", secret);
            command.Parameters.AddWithValue("max", (long)max);
            return await ReadOneAsync(command, ct);
        }, cancellationToken);

    /// <summary>The owner's subscriptions, oldest first.</summary>
    public Task<IReadOnlyList<WebhookSubscription>> ListAsync(string owner, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<WebhookSubscription>>(async ct =>
        {
            await using var command = dataSource.CreateCommand(
                $"SELECT {Columns} FROM webhook_subscriptions WHERE service_id = @service AND owner = @owner ORDER BY id");
            command.Parameters.AddWithValue("service", _service);
            command.Parameters.AddWithValue("owner", owner);
            var list = new List<WebhookSubscription>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                list.Add(Read(reader));
            }

            return list;
        }, cancellationToken);

    /// <summary>One of the owner's subscriptions, or null.</summary>
    public Task<WebhookSubscription?> FindAsync(string owner, long id, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand(
                $"SELECT {Columns} FROM webhook_subscriptions WHERE service_id = @service AND owner = @owner AND id = @id");
            command.Parameters.AddWithValue("service", _service);
            command.Parameters.AddWithValue("owner", owner);
            command.Parameters.AddWithValue("id", id);
            return await ReadOneAsync(command, ct);
        }, cancellationToken);

    /// <summary>Removes one of the owner's subscriptions; false when there was none.</summary>
    public Task<bool> DeleteAsync(string owner, long id, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand(
                "DELETE FROM webhook_subscriptions WHERE service_id = @service AND owner = @owner AND id = @id");
            command.Parameters.AddWithValue("service", _service);
            command.Parameters.AddWithValue("owner", owner);
            command.Parameters.AddWithValue("id", id);
            return await command.ExecuteNonQueryAsync(ct) == 1;
        }, cancellationToken);

    /// <summary>Gives a subscription a new secret; the current one becomes the previous one and keeps signing until
    /// <paramref name="previousUntil"/>. Null when the owner has no such subscription.</summary>
    public Task<WebhookSubscription?> RotateAsync(string owner, long id, string secret, DateTimeOffset previousUntil, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand($"""
                UPDATE webhook_subscriptions SET previous_secret = secret, previous_until = @until, secret = @secret, secret_rotated_at = now()
                WHERE service_id = @service AND owner = @owner AND id = @id
                RETURNING {Columns}
                """);
            command.Parameters.AddWithValue("service", _service);
            command.Parameters.AddWithValue("owner", owner);
            command.Parameters.AddWithValue("id", id);
            command.Parameters.AddWithValue("secret", secret);
            command.Parameters.AddWithValue("until", previousUntil.UtcDateTime);
            return await ReadOneAsync(command, ct);
        }, cancellationToken);

    /// <summary>Changes what is given of a subscription (null: unchanged); <paramref name="enable"/> ends its disabled state.
    /// Null when the owner has no such subscription.</summary>
    public Task<WebhookSubscription?> UpdateAsync(string owner, long id, string? description, IReadOnlyList<string>? events, bool enable,
        CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand($"""
                UPDATE webhook_subscriptions SET description = COALESCE(@description, description), events = COALESCE(@events, events),
                    last_success_at = CASE WHEN @enable AND disabled_at IS NOT NULL THEN now() ELSE last_success_at END,
                    disabled_at = CASE WHEN @enable THEN NULL ELSE disabled_at END,
                    disabled_reason = CASE WHEN @enable THEN NULL ELSE disabled_reason END
                WHERE service_id = @service AND owner = @owner AND id = @id
                RETURNING {Columns}
                """);
            command.Parameters.AddWithValue("service", _service);
            command.Parameters.AddWithValue("owner", owner);
            command.Parameters.AddWithValue("id", id);
            command.Parameters.AddWithValue("description", NpgsqlTypes.NpgsqlDbType.Text, (object?)description ?? DBNull.Value);
            command.Parameters.AddWithValue("events", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text, (object?)events?.ToArray() ?? DBNull.Value);
            command.Parameters.AddWithValue("enable", enable);
            return await ReadOneAsync(command, ct);
        }, cancellationToken);

    private static async Task<WebhookSubscription?> ReadOneAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static WebhookSubscription Read(NpgsqlDataReader reader) => new(
        reader.GetInt64(0), reader.GetString(1), reader.GetFieldValue<string[]>(2), reader.GetString(3),
        new DateTimeOffset(reader.GetDateTime(4), TimeSpan.Zero),
        reader.IsDBNull(5) ? null : new DateTimeOffset(reader.GetDateTime(5), TimeSpan.Zero),
        reader.IsDBNull(6) ? null : reader.GetString(6),
        reader.IsDBNull(7) ? null : new DateTimeOffset(reader.GetDateTime(7), TimeSpan.Zero),
        reader.IsDBNull(8) ? null : new DateTimeOffset(reader.GetDateTime(8), TimeSpan.Zero),
        reader.GetInt64(9));

    // Writes are not repeated (an insert could run twice); a database that does not answer is a 503 (the cluster's
    // exception handler).
    private Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        _pipeline.RunAsync(idempotent: false, call, cancellationToken);
}
