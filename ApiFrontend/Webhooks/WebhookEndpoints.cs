using MediaService.DataPlane.Webhooks;
using MediaService.ApiFrontend.Access;
using MediaService.ApiFrontend.Admin;
using MediaService.ApiFrontend.Http;
using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace MediaService.ApiFrontend.Webhooks;

/// <summary>
/// <c>/webhooks</c>: an owner's webhook subscriptions, their secrets and their delivery log. Owners are isolated as for
/// media: another owner's subscription answers 404. Deliveries are made by the silos (<c>IWebhookEndpointGrain</c>); the
/// frontend reads their log and asks the subscription's grain for a redelivery.
/// </summary>
public static partial class WebhookEndpoints
{
    /// <summary>Maps <c>/webhooks</c>.</summary>
    public static IEndpointRouteBuilder MapWebhooks(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/webhooks").WithTags("Webhooks");
        group.MapPost("/", CreateAsync).WithName("CreateWebhook")
            .WithSummary("Subscribes a URL to events; the answer shows the signing secret (whsec_...) once.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/", ListAsync).WithName("ListWebhooks").WithSummary("The caller's subscriptions, without secrets.");
        group.MapGet("/{id:long}", GetAsync).WithName("GetWebhook").WithSummary("One subscription, without its secret.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapDelete("/{id:long}", DeleteAsync).WithName("DeleteWebhook").WithSummary("Ends a subscription.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPatch("/{id:long}", UpdateAsync).WithName("UpdateWebhook")
            .WithSummary("Changes a subscription's description or events, or enables it again after it was disabled.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/{id:long}/rotate", RotateAsync).WithName("RotateWebhookSecret")
            .WithSummary("Gives a subscription a new secret; the previous one keeps signing beside it for Webhooks:RotationOverlap.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{id:long}/deliveries", DeliveriesAsync).WithName("ListWebhookDeliveries")
            .WithSummary("The subscription's recent deliveries, newest first, each with its last attempts (status, latency, error).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/{id:long}/deliveries/{deliveryId:long}/redeliver", RedeliverAsync).WithName("RedeliverWebhookDelivery")
            .WithSummary("Sends one delivery again, now, with the same webhook-id and body.")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    internal static async Task<Results<Created<NewWebhook>, ProblemHttpResult>> CreateAsync(
        NewWebhookRequest? request, HttpContext context, WebhookStore store, IOptions<WebhookOptions> options, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var (url, urlError) = WebhookTargets.Parse(request?.Url);
        if (urlError is not null)
        {
            errors["url"] = [urlError];
        }

        var events = request?.Events?.Distinct(StringComparer.Ordinal).ToList() ?? [];
        if (EventsError(events) is { } eventsError)
        {
            errors["events"] = [eventsError];
        }

        var description = request?.Description ?? string.Empty;
        if (description.Length > 500)
        {
            errors["description"] = ["At most 500 characters."];
        }

        if (errors.Count > 0)
        {
            return Problems.Invalid(errors, Problems.WebhookInvalid, "Invalid webhook subscription");
        }

        // The target's addresses now; delivery checks the address it connects to again (DNS may change).
        if (await WebhookTargets.CheckHostAsync(url!, options.Value.AllowPrivateTargets, options.Value.ResolveTimeout, cancellationToken) is { } refused)
        {
            return Problems.Invalid(new Dictionary<string, string[]> { ["url"] = [refused] }, Problems.WebhookInvalid, "Invalid webhook subscription");
        }

        var secret = WebhookTargets.NewSecret();
        var created = await store.CreateAsync(context.User.Owner(), url!, events, description, secret, options.Value.MaxSubscriptionsPerOwner, cancellationToken);
        if (created is null)
        {
            return ApiErrors.WebhookLimit.Problem($"An owner may have at most {options.Value.MaxSubscriptionsPerOwner} webhook subscriptions; delete one first.");
        }

        return TypedResults.Created($"/webhooks/{created.Id}", NewWebhook.Of(created, secret));
    }

    internal static async Task<Ok<IReadOnlyList<WebhookSubscription>>> ListAsync(HttpContext context, WebhookStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.ListAsync(context.User.Owner(), cancellationToken));

    internal static async Task<Results<Ok<WebhookSubscription>, ProblemHttpResult>> GetAsync(long id, HttpContext context, WebhookStore store, CancellationToken cancellationToken) =>
        await store.FindAsync(context.User.Owner(), id, cancellationToken) is { } found ? TypedResults.Ok(found) : NotFound(id);

    internal static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(long id, HttpContext context, WebhookStore store, CancellationToken cancellationToken) =>
        await store.DeleteAsync(context.User.Owner(), id, cancellationToken) ? TypedResults.NoContent() : NotFound(id);

    internal static async Task<Results<Ok<NewWebhook>, ProblemHttpResult>> RotateAsync(
        long id, HttpContext context, WebhookStore store, IClusterClient cluster, IOptions<WebhookOptions> options, TimeProvider time,
        ILogger<WebhookStore> logger, CancellationToken cancellationToken)
    {
        var secret = WebhookTargets.NewSecret();
        var rotated = await store.RotateAsync(context.User.Owner(), id, secret, time.GetUtcNow() + options.Value.RotationOverlap, cancellationToken);
        if (rotated is null)
        {
            return NotFound(id);
        }

        // The delivering silo signs with both secrets from its next attempt. Best effort: the rotation is stored and its
        // secret must reach the owner (a retried rotation would push this secret out unseen); the silo reads the
        // subscription again within Webhooks:ConfigRefresh anyway.
        try
        {
            await cluster.GetGrain<IWebhookEndpointGrain>(id).ReloadAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogReloadDeferred(logger, id, ex.Message);
        }

        return TypedResults.Ok(NewWebhook.Of(rotated, secret));
    }

    internal static async Task<Results<Ok<WebhookSubscription>, ProblemHttpResult>> UpdateAsync(
        long id, WebhookUpdateRequest? request, HttpContext context, WebhookStore store, IClusterClient cluster, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (request?.Events is { } events && EventsError(events) is { } eventsError)
        {
            errors["events"] = [eventsError];
        }

        if (request?.Description is { Length: > 500 })
        {
            errors["description"] = ["At most 500 characters."];
        }

        if (request?.Enabled == false)
        {
            errors["enabled"] = ["Only true (enable again) is accepted; delete the subscription to stop it."];
        }

        if (errors.Count > 0)
        {
            return Problems.Invalid(errors, Problems.WebhookInvalid, "Invalid webhook subscription");
        }

        var updated = await store.UpdateAsync(context.User.Owner(), id, request?.Description, request?.Events?.Distinct(StringComparer.Ordinal).ToList(),
            request?.Enabled == true, cancellationToken);
        if (updated is null)
        {
            return NotFound(id);
        }

        await cluster.GetGrain<IWebhookEndpointGrain>(id).ReloadAsync();
        return TypedResults.Ok(updated);
    }

    internal static async Task<Results<Ok<WebhookDeliveryPage>, ProblemHttpResult>> DeliveriesAsync(
        long id, HttpContext context, WebhookStore store, WebhookDeliveryLog log, string? status, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (status is not (null or "pending" or "delivered" or "failed"))
        {
            errors["status"] = ["pending, delivered or failed."];
        }

        if (limit is < 1 or > 100)
        {
            errors["limit"] = ["From 1 to 100."];
        }

        long? before = null;
        if (cursor is not null)
        {
            if (long.TryParse(cursor, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var at))
            {
                before = at;
            }
            else
            {
                errors["cursor"] = ["Not a cursor of this list."];
            }
        }

        if (errors.Count > 0)
        {
            return Problems.Invalid(errors, Problems.WebhookInvalid, "Invalid delivery query");
        }

        var owner = context.User.Owner();
        if (await store.FindAsync(owner, id, cancellationToken) is null)
        {
            return NotFound(id);
        }

        return TypedResults.Ok(await log.ListAsync(owner, id, status, before, limit ?? 20, cancellationToken));
    }

    internal static async Task<Results<Accepted<RedeliveryAccepted>, ProblemHttpResult>> RedeliverAsync(
        long id, long deliveryId, HttpContext context, WebhookStore store, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (await store.FindAsync(context.User.Owner(), id, cancellationToken) is not { } subscription)
        {
            return NotFound(id);
        }

        if (subscription.DisabledAt is not null)
        {
            return ApiErrors.WebhookDisabled.Problem("The subscription is disabled; enable it (PATCH {\"enabled\": true}) before redelivering.");
        }

        return await cluster.GetGrain<IWebhookEndpointGrain>(id).RedeliverAsync(deliveryId)
            ? TypedResults.Accepted($"/webhooks/{id}/deliveries", new RedeliveryAccepted(deliveryId, "pending"))
            : ApiErrors.DeliveryNotFound.Problem($"Subscription {id} has no delivery {deliveryId}.");
    }

    // Null when the list is good: one or more event types, or * for all.
    private static string? EventsError(IReadOnlyCollection<string> events) =>
        events.Count == 0 || events.Any(e => e != "*" && !MediaEventTypes.All.Contains(e))
            ? $"One or more of {string.Join(", ", MediaEventTypes.All)}, or * for all."
            : null;

    [LoggerMessage(EventId = LogEvents.WebhookApi + 1, Level = LogLevel.Warning, Message = "Webhook {SubscriptionId}: rotated, but its delivery grain was not told now ({Reason}); it reads the subscription again within Webhooks:ConfigRefresh")]
    private static partial void LogReloadDeferred(ILogger logger, long subscriptionId, string reason);

    private static ProblemHttpResult NotFound(long id) =>
        ApiErrors.WebhookNotFound.Problem($"You have no webhook subscription {id}.");
}

/// <summary>A request for a subscription.</summary>
/// <param name="Url">Where events are POSTed: an http(s) URL of a public address.</param>
/// <param name="Events">Which events: media.created, media.stored, media.processed, media.updated, media.deleted, upload.expired, or * for all.</param>
/// <param name="Description">A note for the owner, at most 500 characters.</param>
public sealed record NewWebhookRequest(string? Url, IReadOnlyList<string>? Events, string? Description);

/// <summary>Changes to a subscription; what is absent stays.</summary>
/// <param name="Description">A new note.</param>
/// <param name="Events">New event types.</param>
/// <param name="Enabled">true enables a disabled subscription again (its pending deliveries resume).</param>
public sealed record WebhookUpdateRequest(string? Description, IReadOnlyList<string>? Events, bool? Enabled);

/// <summary>A redelivery was queued.</summary>
/// <param name="Id">The delivery.</param>
/// <param name="Status">pending.</param>
public sealed record RedeliveryAccepted(long Id, string Status);

/// <summary>A subscription with its signing secret: shown when it is made and when it is rotated, never again.</summary>
public sealed record NewWebhook(
    long Id, string Url, IReadOnlyList<string> Events, string Description, DateTimeOffset CreatedAt, string Secret, DateTimeOffset? PreviousSecretUntil)
{
    internal static NewWebhook Of(WebhookSubscription subscription, string secret) => new(
        subscription.Id, subscription.Url, subscription.Events, subscription.Description, subscription.CreatedAt, secret, subscription.PreviousSecretUntil);
}
