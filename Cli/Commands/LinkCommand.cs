using System.Net.Http.Json;
using System.Text.Json;
using MediaService.Cli.Http;

namespace MediaService.Cli.Commands;

/// <summary><c>media link ID</c>: a signed, expiring share link (<c>POST /media/{id}/links</c>) as absolute URLs.</summary>
public sealed class LinkCommand : Command
{
    public override string Name => "link";

    public override string Usage => "ID [--expires SECONDS] [--json]";

    public override string Summary => "Makes share links that open the item's content and renditions without a key until they expire.";

    public override string? Details => """
        Prints "NAME<TAB>URL" lines: "content" first, then each rendition (thumb.webp, display, ...), then
        "expires<TAB>TIME". The content URL alone: media link ID | awk '$1 == "content" { print $2 }'.
        With --json: {"content": URL, "renditions": {NAME: URL}, "expiresAt": TIME}.
        """;

    public override IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("expires", 'e', "SECONDS", "how long the links work (default: the service's, 1 h unless configured)"),
        new("json", null, null, "one JSON object"),
    ];

    public override async Task<int> RunAsync(Arguments args, CancellationToken cancellationToken)
    {
        var id = ParseId(args);
        long? expires = args.Has("expires") ? args.Number("expires", 0, 1, long.MaxValue) : null;
        using var api = new MediaApi(ServiceSettings.Resolve(args));
        var link = await api.SendJsonAsync(() => new HttpRequestMessage(HttpMethod.Post, api.Resolve($"media/{id}/links"))
        {
            Content = JsonContent.Create(new { expiresInSeconds = expires }),
        }, $"link {id}", cancellationToken);
        var content = api.Resolve(link.GetProperty("content").GetString()!).AbsoluteUri;
        var renditions = link.TryGetProperty("renditions", out var r) && r.ValueKind == JsonValueKind.Object
            ? r.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).ToDictionary(p => p.Name, p => api.Resolve(p.Value.GetString()!).AbsoluteUri)
            : [];
        var expiresAt = link.TryGetProperty("expiresAt", out var e) ? e.GetString() : null;
        if (args.Has("json"))
        {
            PrintJson(new { content, renditions, expiresAt });
            return ExitCodes.Ok;
        }

        Print($"content\t{content}");
        foreach (var (name, url) in renditions)
        {
            Print($"{name}\t{url}");
        }

        Print($"expires\t{expiresAt}");
        return ExitCodes.Ok;
    }
}
