using MediaService.ApiFrontend.Media;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace MediaService.ApiFrontend.OpenApi;

/// <summary>
/// Schemas as the JSON the API writes really is, so that examples validate and generated clients get plain types.
/// </summary>
public static class OpenApiSchemas
{
    private const JsonSchemaType Numeric = JsonSchemaType.Integer | JsonSchemaType.Number;

    // The component ASP.NET Core makes for a Stream body.
    private const string BinaryComponent = "Stream";

    /// <summary>Adds the schema transformer, and the document transformer that finishes the components.</summary>
    public static OpenApiOptions AddMediaSchemas(this OpenApiOptions options) => options.AddSchemaTransformer((schema, context, _) =>
    {
        // The serializer reads numbers from strings too (the web defaults), but the API writes numbers: a client
        // sends and receives them as numbers, so "integer or string matching a pattern" becomes "integer".
        if (schema.Type is { } type && (type & Numeric) != 0)
        {
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }

        var clrType = context.JsonTypeInfo.Type;
        if (clrType == typeof(MetadataPatchDocument) && schema.Properties?.TryGetValue("custom", out var custom) == true
            && custom is OpenApiSchema { AdditionalProperties: OpenApiSchema value })
        {
            // In a merge patch, a custom field set to null is removed.
            value.Type |= JsonSchemaType.Null;
        }

        if (clrType == typeof(ProblemDetails) || clrType == typeof(HttpValidationProblemDetails))
        {
            schema.Description ??= "An RFC 9457 problem: branch on `code`, never on the text. Other members (such as `maxBytes` or `mediaId`) may be present.";
            schema.Properties ??= new Dictionary<string, IOpenApiSchema>();
            schema.Properties.TryAdd("code", new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                Description = "The stable, machine-readable problem code (media-not-found, upload-too-large, rate-limited, ...).",
            });
            schema.Properties.TryAdd("errors", new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "For metadata-invalid: the broken rules by field.",
                AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
            });
        }

        return Task.CompletedTask;
    }).AddDocumentTransformer((document, _, _) =>
    {
        // Null members are left out of every answer (JsonIgnoreCondition.WhenWritingNull): a member that may be null
        // may be absent, so it is not required. Done on the finished components, where a nullable object member has
        // become oneOf [null, $ref].
        foreach (var schema in document.Components?.Schemas?.Values ?? [])
        {
            if (schema is OpenApiSchema { Properties.Count: > 0, Required.Count: > 0 } model)
            {
                foreach (var (name, property) in model.Properties)
                {
                    if (MayBeNull(property))
                    {
                        model.Required.Remove(name);
                    }
                }
            }
        }

        // Bytes are a string of format binary where they are used, not a component named after the CLR type: generators
        // take only the inline form for a file body (a reference to "Stream" made Kiota's GET content return nothing).
        foreach (var operation in document.Paths?.Values.SelectMany(p => p.Operations?.Values.AsEnumerable() ?? []) ?? [])
        {
            var bodies = (operation.RequestBody?.Content?.Values ?? []).Concat(
                operation.Responses?.Values.SelectMany(r => r.Content?.Values ?? []) ?? []);
            foreach (var media in bodies)
            {
                if (media.Schema is OpenApiSchemaReference { Reference.Id: BinaryComponent })
                {
                    media.Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" };
                }
            }
        }

        document.Components?.Schemas?.Remove(BinaryComponent);
        return Task.CompletedTask;
    });

    private static bool MayBeNull(IOpenApiSchema schema) =>
        (schema.Type is { } type && type.HasFlag(JsonSchemaType.Null))
        || (schema.OneOf?.Any(s => s.Type == JsonSchemaType.Null) ?? false)
        || (schema.AnyOf?.Any(s => s.Type == JsonSchemaType.Null) ?? false);
}
