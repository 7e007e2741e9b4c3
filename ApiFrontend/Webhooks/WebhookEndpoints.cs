using MediaService.ApiFrontend.Auth;
using MediaService.ApiFrontend.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace MediaService.ApiFrontend.Webhooks;

/// <summary>
/// <c>/webhooks</c>: an owner's webhook subscriptions (issue 17, first part: subscriptions and their secrets; the
/// events and their delivery come next). Owners are isolated as for media: another owner's subscription answers 404.
/// </summary>
public static class WebhookEndpoints
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
        group.MapPost("/{id:long}/rotate", RotateAsync).WithName("RotateWebhookSecret")
            .WithSummary("Gives a subscription a new secret; the previous one keeps signing beside it for Webhooks:RotationOverlap.")
            .ProducesProblem(StatusCodes.Status404NotFound);
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
        if (events.Count == 0 || events.Any(e => !WebhookEvents.All.Contains(e)))
        {
            errors["events"] = [$"One or more of {string.Join(", ", WebhookEvents.All)}."];
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
            return Problems.Create("webhook-limit", StatusCodes.Status409Conflict, "Too many subscriptions",
                $"An owner may have at most {options.Value.MaxSubscriptionsPerOwner} webhook subscriptions; delete one first.");
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
        long id, HttpContext context, WebhookStore store, IOptions<WebhookOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        var secret = WebhookTargets.NewSecret();
        var rotated = await store.RotateAsync(context.User.Owner(), id, secret, time.GetUtcNow() + options.Value.RotationOverlap, cancellationToken);
        return rotated is null ? NotFound(id) : TypedResults.Ok(NewWebhook.Of(rotated, secret));
    }

    private static ProblemHttpResult NotFound(long id) =>
        Problems.Create("webhook-not-found", StatusCodes.Status404NotFound, "Webhook not found", $"You have no webhook subscription {id}.");
}

/// <summary>A request for a subscription.</summary>
/// <param name="Url">Where events are POSTed: an http(s) URL of a public address.</param>
/// <param name="Events">Which events: media.created, media.stored, media.processed, media.updated, media.deleted, upload.expired.</param>
/// <param name="Description">A note for the owner, at most 500 characters.</param>
public sealed record NewWebhookRequest(string? Url, IReadOnlyList<string>? Events, string? Description);

/// <summary>A subscription with its signing secret: shown when it is made and when it is rotated, never again.</summary>
public sealed record NewWebhook(
    long Id, string Url, IReadOnlyList<string> Events, string Description, DateTimeOffset CreatedAt, string Secret, DateTimeOffset? PreviousSecretUntil)
{
    internal static NewWebhook Of(WebhookSubscription subscription, string secret) => new(
        subscription.Id, subscription.Url, subscription.Events, subscription.Description, subscription.CreatedAt, secret, subscription.PreviousSecretUntil);
}
