using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace MediaService.ApiFrontend.OpenApi;

/// <summary>Marks a route that a share link opens without a key (its handler checks <c>expires</c> and <c>sig</c>).</summary>
public sealed class ShareLinkAccess
{
    /// <summary>The one instance routes carry.</summary>
    public static readonly ShareLinkAccess Instance = new();
}

/// <summary>
/// Declares the security schemes, and on every operation what it needs: the key (the fallback policy), a key or a share
/// link (routes marked <see cref="ShareLinkAccess"/>), or explicitly nothing (other anonymous routes).
/// </summary>
public static class OpenApiSecurity
{
    /// <summary>The key scheme: <c>Authorization: Bearer mk_...</c>.</summary>
    public const string KeyScheme = "ApiKey";

    /// <summary>The share link scheme: <c>sig</c> (with <c>expires</c>) in the query.</summary>
    public const string LinkScheme = "ShareLink";

    /// <summary>Marks the route as one a share link opens (see <see cref="ShareLinkAccess"/>).</summary>
    public static TBuilder OpensWithShareLink<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(ShareLinkAccess.Instance);

    /// <summary>Adds the schemes and the per-operation requirements.</summary>
    public static OpenApiOptions AddMediaSecurity(this OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[KeyScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "An API key (mk_...) sent as Authorization: Bearer <key>. Admin routes need an admin key. An upload link's token "
                    + "(mul_..., from POST /upload-links) is sent the same way and opens only the tus upload routes and GET /media/{id}.",
            };
            document.Components.SecuritySchemes[LinkScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Query,
                Name = "sig",
                Description = "A share link from POST /media/{id}/links: its query carries `expires` (Unix seconds) and `sig`; send both.",
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            var metadata = context.Description.ActionDescriptor.EndpointMetadata;
            var key = new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(KeyScheme, context.Document)] = [] };
            if (metadata.OfType<ShareLinkAccess>().Any())
            {
                operation.Security = [key, new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(LinkScheme, context.Document)] = [] }];
                operation.Parameters ??= [];
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = "expires",
                    In = ParameterLocation.Query,
                    Description = "With `sig`: the share link's expiry (Unix seconds), as the link has it.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64" },
                });
            }
            else if (metadata.OfType<IAllowAnonymous>().Any())
            {
                operation.Security = []; // open: explicitly no requirement
            }
            else
            {
                operation.Security = [key];
            }

            return Task.CompletedTask;
        });
        return options;
    }
}
