using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace MediaService.ApiFrontend.OpenApi;

/// <summary>Examples in the OpenAPI document for the operations whose bodies and answers a newcomer writes by hand.</summary>
public static class OpenApiExamples
{
    private static readonly Dictionary<string, (string? Request, string? Response)> Examples = new()
    {
        ["PatchMediaMetadata"] = (
            """{"title":"Harbour at dawn","description":null,"tags":["sea","Golden Hour"],"keywords":["boats"],"custom":{"camera":"X100","lens":null}}""",
            """{"id":4502084102828374,"fileName":"harbour.jpg","contentType":"image/jpeg","size":2345678,"status":"stored","title":"Harbour at dawn","tags":["sea","golden-hour"],"keywords":["boats"],"custom":{"camera":"X100"},"version":8}"""),
        ["SearchMedia"] = (
            null,
            """{"items":[{"id":4502084102828374,"fileName":"harbour.jpg","contentType":"image/jpeg","size":2345678,"status":"stored","processing":"ready","kind":"image","title":"Harbour at dawn","tags":["sea","golden-hour"],"keywords":["boats"],"createdAt":"2026-11-25T08:00:00+00:00","updatedAt":"2026-11-25T08:01:00+00:00","links":{"self":"/media/4502084102828374","metadata":"/media/4502084102828374/metadata","content":"/media/4502084102828374/content"}}],"cursor":"Y3w2Mzg5OTk5OTk5OTk5OTk5OTl8MHw0NTAyMDg0MTAyODI4Mzc0","next":"/media?tag=sea&cursor=Y3w2Mzg5OTk5OTk5OTk5OTk5OTl8MHw0NTAyMDg0MTAyODI4Mzc0"}"""),
        ["GetMediaMetadata"] = (
            null,
            """{"id":4502084102828374,"fileName":"harbour.jpg","contentType":"image/jpeg","size":2345678,"status":"stored","sha256":"9f8e...","title":"Harbour at dawn","tags":["sea"],"keywords":[],"custom":{},"processing":{"status":"ready","attempts":1,"facts":{"kind":"image","detectedType":"image/jpeg","width":4000,"height":3000,"frameCount":1},"renditions":[{"name":"thumb.webp","contentType":"image/webp","size":9120,"width":256,"height":192,"url":"/media/4502084102828374/renditions/thumb.webp"}],"steps":[]},"version":8,"links":{"self":"/media/4502084102828374","metadata":"/media/4502084102828374/metadata","content":"/media/4502084102828374/content"}}"""),
    };

    /// <summary>Adds the examples to the document's operations.</summary>
    public static OpenApiOptions AddMediaExamples(this OpenApiOptions options) => options.AddOperationTransformer((operation, _, _) =>
    {
        if (operation.OperationId is { } id && Examples.TryGetValue(id, out var example))
        {
            if (example.Request is { } request && operation.RequestBody?.Content is { } requestContent)
            {
                foreach (var media in requestContent.Values)
                {
                    media.Example = JsonNode.Parse(request);
                }
            }

            if (example.Response is { } response && operation.Responses?.TryGetValue("200", out var ok) == true && ok.Content is { } responseContent)
            {
                foreach (var media in responseContent.Values)
                {
                    media.Example = JsonNode.Parse(response);
                }
            }
        }

        return Task.CompletedTask;
    });
}

/// <summary>Declares the bearer-key security scheme, and requires it on every operation that is not anonymous.</summary>
public static class OpenApiSecurity
{
    private const string Scheme = "ApiKey";

    /// <summary>Adds the scheme and the per-operation requirements.</summary>
    public static OpenApiOptions AddMediaSecurity(this OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[Scheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "An API key (mk_...) sent as Authorization: Bearer <key>. Admin routes need an admin key.",
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            var anonymous = context.Description.ActionDescriptor.EndpointMetadata.OfType<Microsoft.AspNetCore.Authorization.IAllowAnonymous>().Any();
            if (!anonymous)
            {
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Scheme, context.Document)] = [] });
            }

            return Task.CompletedTask;
        });
        return options;
    }
}
