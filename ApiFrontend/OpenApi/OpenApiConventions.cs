using MediaService.ApiFrontend.Limits;
using MediaService.ApiFrontend.Admin;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.OpenApi;

namespace MediaService.ApiFrontend.OpenApi;

/// <summary>
/// What every operation has in common, said once: a unique id for HEAD next to GET, the path parameters of its route,
/// and the answers the pipeline gives whatever the handler does (401 and 403 from authentication, 404 for an id this
/// service never issued, 429 from the rate limits, 503 when the cluster or the store does not answer). The answers a
/// handler gives itself are declared where its route is mapped (<c>.Produces*</c>).
/// </summary>
public static class OpenApiConventions
{
    private const string ProblemJson = "application/problem+json";

    /// <summary>Adds the operation transformer.</summary>
    public static OpenApiOptions AddMediaConventions(this OpenApiOptions options) => options.AddOperationTransformer((operation, context, _) =>
    {
        var description = context.Description;
        var head = HttpMethods.IsHead(description.HttpMethod ?? string.Empty);
        var preflight = HttpMethods.IsOptions(description.HttpMethod ?? string.Empty);
        // One route answers GET and HEAD under one name: HEAD gets its own id (GetMediaContent, HeadMediaContent).
        if (head && operation.OperationId is { } id && id.StartsWith("Get", StringComparison.Ordinal))
        {
            operation.OperationId = "Head" + id["Get".Length..];
        }

        DeclarePathParameters(operation, description.ActionDescriptor.AttributeRouteInfo?.Template ?? description.RelativePath);

        var metadata = description.ActionDescriptor.EndpointMetadata;
        var anonymous = metadata.OfType<IAllowAnonymous>().Any();
        var byLink = metadata.OfType<ShareLinkAccess>().Any();
        var admin = metadata.OfType<IAuthorizeData>().Any(a => a.Policy == AdminEndpoints.Policy);
        var tus = description.RelativePath?.StartsWith("files", StringComparison.Ordinal) == true;
        var item = operation.Parameters?.Any(p => p.In == ParameterLocation.Path && p.Name == "id") == true;
        operation.Responses ??= [];
        var responses = operation.Responses;
        if (!anonymous || byLink)
        {
            responses.TryAdd("401", Problem(context, "No key, or an unknown, revoked or expired one (`WWW-Authenticate: Bearer`)."
                + (byLink ? " A share link opens this route without a key." : string.Empty)));
        }

        if (admin)
        {
            responses.TryAdd("403", Problem(context, "The key is not an admin key."));
        }
        else if (byLink)
        {
            responses.TryAdd("403", Problem(context, "The share link does not match this item, or it has expired (`link-invalid`)."));
        }

        // (A preflight answers whatever the id: the check of issued ids needs a caller.)
        if (item && !preflight)
        {
            responses.TryAdd("404", tus
                ? new OpenApiResponse { Description = "No such upload (tus: no body)." }
                : Problem(context, "No such item, or another owner's (`media-not-found`)."));
        }

        responses.TryAdd("429", Problem(context, "A rate limit of the key (or, without a key, of the client's address) was reached (`rate-limited`).", retryAfter: true));
        if (!preflight)
        {
            responses.TryAdd("503", Problem(context, "The cluster or the object store did not answer (`cluster-unavailable`, `storage-unavailable`).", retryAfter: true));
        }

        foreach (var (status, response) in responses)
        {
            if (response is OpenApiResponse declared)
            {
                if (string.IsNullOrEmpty(declared.Description) && int.TryParse(status, out var code))
                {
                    declared.Description = code == Tus.TusEndpoints.ChecksumMismatch ? "Checksum Mismatch (tus)" : ReasonPhrases.GetReasonPhrase(code);
                }

                // HEAD answers have no body.
                if (head)
                {
                    declared.Content = null;
                }
            }
        }

        return Task.CompletedTask;
    });

    /// <summary>Every parameter of the route's template is a path parameter of the operation, whether or not the handler
    /// binds it (a preflight answer for <c>/files/{id}</c> reads no id, but the path has one).</summary>
    private static void DeclarePathParameters(OpenApiOperation operation, string? template)
    {
        if (template is null)
        {
            return;
        }

        foreach (var parameter in RoutePatternFactory.Parse(template).Parameters)
        {
            if (operation.Parameters?.Any(p => p.In == ParameterLocation.Path && p.Name == parameter.Name) == true)
            {
                continue;
            }

            var integer = parameter.ParameterPolicies.Any(p => p.Content is "long" or "int");
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = parameter.Name,
                In = ParameterLocation.Path,
                Required = true,
                Schema = integer ? new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64" } : new OpenApiSchema { Type = JsonSchemaType.String },
            });
        }
    }

    private static OpenApiResponse Problem(OpenApiOperationTransformerContext context, string description, bool retryAfter = false) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType>
        {
            [ProblemJson] = new() { Schema = new OpenApiSchemaReference("ProblemDetails", context.Document) },
        },
        Headers = retryAfter
            ? new Dictionary<string, IOpenApiHeader>
            {
                ["Retry-After"] = new OpenApiHeader
                {
                    Description = "Seconds to wait before retrying.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.Integer },
                },
            }
            : null,
    };
}
