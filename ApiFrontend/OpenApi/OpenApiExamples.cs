using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;

namespace MediaService.ApiFrontend.OpenApi;

/// <summary>
/// Examples in the OpenAPI document for the operations whose bodies and answers a newcomer writes by hand. Each is
/// valid against its schema (null members are left out, as the API leaves them out); the OpenAPI tests check it.
/// </summary>
public static class OpenApiExamples
{
    private const string Links = """{"self":"/media/4502084102828374","metadata":"/media/4502084102828374/metadata","content":"/media/4502084102828374/content"}""";

    private const string Stored = $$"""
        {"id":4502084102828374,"fileName":"harbour.jpg","contentType":"image/jpeg","size":2345678,"status":"stored",
        "createdAt":"2026-11-25T08:00:00+00:00","updatedAt":"2026-11-25T08:01:00+00:00",
        "sha256":"3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
        "tags":[],"keywords":[],"custom":{},"processing":{"status":"processing","attempts":1,"startedAt":"2026-11-25T08:00:01+00:00","renditions":[],"steps":[]},
        "version":1,"links":{{Links}}}
        """;

    private static readonly Dictionary<string, (string Status, string? Request, string? Response)> Examples = new()
    {
        ["UploadMedia"] = ("201", null, Stored),
        ["PatchMediaMetadata"] = ("200",
            """{"title":"Harbour at dawn","description":null,"tags":["sea","Golden Hour"],"keywords":["boats"],"custom":{"camera":"X100","lens":null}}""",
            $$"""
            {"id":4502084102828374,"fileName":"harbour.jpg","contentType":"image/jpeg","size":2345678,"status":"stored",
            "createdAt":"2026-11-25T08:00:00+00:00","updatedAt":"2026-11-25T08:05:00+00:00",
            "sha256":"3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
            "title":"Harbour at dawn","tags":["sea","golden-hour"],"keywords":["boats"],"custom":{"camera":"X100"},"version":8,"links":{{Links}}}
            """),
        ["SearchMedia"] = ("200", null, $$"""
            {"items":[{"id":4502084102828374,"fileName":"harbour.jpg","contentType":"image/jpeg","size":2345678,"status":"stored",
            "processing":"ready","kind":"image","title":"Harbour at dawn","tags":["sea","golden-hour"],"keywords":["boats"],
            "createdAt":"2026-11-25T08:00:00+00:00","updatedAt":"2026-11-25T08:01:00+00:00","links":{{Links}}}],
            "cursor":"Y3w2Mzg5OTk5OTk5OTk5OTk5OTl8MHw0NTAyMDg0MTAyODI4Mzc0",
            "next":"/media?tag=sea&cursor=Y3w2Mzg5OTk5OTk5OTk5OTk5OTl8MHw0NTAyMDg0MTAyODI4Mzc0"}
            """),
        ["GetMediaMetadata"] = ("200", null, $$"""
            {"id":4502084102828374,"fileName":"harbour.jpg","contentType":"image/jpeg","size":2345678,"status":"stored",
            "createdAt":"2026-11-25T08:00:00+00:00","updatedAt":"2026-11-25T08:01:00+00:00",
            "sha256":"3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
            "title":"Harbour at dawn","tags":["sea"],"keywords":[],"custom":{},
            "processing":{"status":"ready","attempts":1,"startedAt":"2026-11-25T08:00:01+00:00","finishedAt":"2026-11-25T08:00:03+00:00",
            "facts":{"kind":"image","detectedType":"image/jpeg","format":"jpeg","width":4000,"height":3000,"frameCount":1},
            "renditions":[{"name":"thumb.webp","contentType":"image/webp","size":9120,"width":256,"height":192,"url":"/media/4502084102828374/renditions/thumb.webp"}],
            "steps":[{"name":"download","seconds":0.12},{"name":"stills","seconds":0.85}]},
            "version":8,"links":{{Links}}}
            """),
    };

    /// <summary>Adds the examples to the document's operations (after <see cref="OpenApiConventions"/> named them).</summary>
    public static OpenApiOptions AddMediaExamples(this OpenApiOptions options) => options.AddOperationTransformer((operation, _, _) =>
    {
        var id = operation.OperationId == "GetMedia" ? "GetMediaMetadata" : operation.OperationId;
        if (id is not null && Examples.TryGetValue(id, out var example))
        {
            if (example.Request is { } request && operation.RequestBody?.Content is { } requestContent)
            {
                foreach (var media in requestContent.Values)
                {
                    media.Example = JsonNode.Parse(request);
                }
            }

            if (example.Response is { } response && operation.Responses?.TryGetValue(example.Status, out var answer) == true && answer.Content is { } responseContent)
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
