using MediaService.ApiFrontend.Access;
using System.Text.RegularExpressions;
using MediaService.ApiFrontend.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MediaService.ApiFrontend.Admin;

/// <summary>Key management for operators: every route needs an admin key.</summary>
public static partial class AdminEndpoints
{
    /// <summary>The policy of admin routes.</summary>
    public const string Policy = "admin";

    /// <summary>Maps <c>/admin/keys</c>.</summary>
    public static IEndpointRouteBuilder MapAdmin(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin/keys").WithTags("Admin").RequireAuthorization(Policy);
        group.MapPost("/", CreateAsync).WithName("CreateApiKey").WithSummary("Makes a key for an owner; the key is shown only in this answer.")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/", ListAsync).WithName("ListApiKeys").WithSummary("Every key, without secrets.");
        group.MapDelete("/{id:long}", RevokeAsync).WithName("RevokeApiKey")
            .WithSummary("Revokes a key: it stops working on every frontend within Auth:KeyCacheTtl.");
        return app;
    }

    internal static async Task<Results<Created<NewKey>, ProblemHttpResult>> CreateAsync(NewKeyRequest request, ApiKeys keys, CancellationToken cancellationToken)
    {
        if (request.Owner is not { } owner || !OwnerRegex().IsMatch(owner))
        {
            return Problems.Invalid(new Dictionary<string, string[]> { ["owner"] = ["1 to 128 letters, digits, '_', '.', '@' or '-', starting with a letter or digit."] });
        }

        var (identity, key) = await keys.CreateAsync(owner, request.Admin == true, cancellationToken);
        return TypedResults.Created($"/admin/keys/{identity.Id}", new NewKey(identity.Id, identity.Owner, identity.IsAdmin, key));
    }

    internal static async Task<Ok<IReadOnlyList<KeyListing>>> ListAsync(ApiKeys keys, CancellationToken cancellationToken) =>
        TypedResults.Ok(await keys.ListAsync(cancellationToken));

    internal static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(long id, ApiKeys keys, CancellationToken cancellationToken) =>
        await keys.RevokeAsync(id, cancellationToken)
            ? TypedResults.NoContent()
            : ApiErrors.KeyNotFound.Problem($"No active key has id {id}.");

    [GeneratedRegex(ApiKeys.OwnerPattern)]
    private static partial Regex OwnerRegex();
}

/// <summary>A request for a key.</summary>
/// <param name="Owner">Whose key it is.</param>
/// <param name="Admin">True for an admin key.</param>
public sealed record NewKeyRequest(string? Owner, bool? Admin);

/// <summary>A new key: the only time the key is shown.</summary>
public sealed record NewKey(long Id, string Owner, bool Admin, string Key);
