using System.Globalization;
using System.Text.Json;
using MediaService.Cli.Http;
using Spectre.Console;

namespace MediaService.Cli.Commands;

/// <summary><c>media ls</c>: a search over <c>GET /media</c>, following its cursor from page to page.</summary>
public sealed class ListCommand : Command
{
    public override string Name => "ls";

    public override string Usage => "[--tag T]... [-q TEXT] [--type KIND] [--status S] [--limit N] [--json]";

    public override string Summary => "Lists your items, newest first (every tag given must match; -q searches title, keywords, description).";

    public override string? Details => """
        Prints "ID<TAB>STATUS<TAB>SIZE<TAB>FILE NAME<TAB>TAGS" per item (a table on a terminal); with --json, each
        item as the service returns it, one per line. STATUS is the processing status once there is one
        (processing, ready, rejected, failed), else the upload's (receiving, stored, ...).
        """;

    public override IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("tag", 't', "TAG", "items with this tag (repeatable: all must match)"),
        new("query", 'q', "TEXT", "free text (words, \"phrases\", -not, or)"),
        new("type", null, "KIND", "image, video or audio"),
        new("status", null, "STATUS", "an upload or processing status (stored, ready, rejected, ...)"),
        new("limit", 'n', "N", "at most N items (default: all)"),
        new("json", null, null, "one JSON object per item"),
    ];

    public override async Task<int> RunAsync(Arguments args, CancellationToken cancellationToken)
    {
        if (args.Positionals.Count > 0)
        {
            throw new CliException(ExitCodes.Usage, $"ls takes no arguments, got '{args.Positionals[0]}'");
        }

        var limit = args.Number("limit", long.MaxValue, 1, long.MaxValue);
        var json = args.Has("json");
        var query = new List<string>();
        foreach (var tag in args.Values("tag"))
        {
            query.Add("tag=" + Uri.EscapeDataString(tag));
        }

        foreach (var name in new[] { "query", "type", "status" })
        {
            if (args.Value(name) is { } value)
            {
                query.Add((name == "query" ? "q" : name) + "=" + Uri.EscapeDataString(value));
            }
        }

        query.Add("limit=" + Math.Min(limit, 100).ToString(CultureInfo.InvariantCulture));
        using var api = new MediaApi(ServiceSettings.Resolve(args));
        var table = !json && !Console.IsOutputRedirected ? new Table().AddColumns("id", "status", "size", "file name", "tags", "title") : null;
        string? next = "media?" + string.Join('&', query);
        long count = 0;
        while (next is not null && count < limit)
        {
            var url = next;
            var page = await api.SendJsonAsync(() => new HttpRequestMessage(HttpMethod.Get, api.Resolve(url)), "search", cancellationToken);
            foreach (var item in page.GetProperty("items").EnumerateArray())
            {
                if (count++ >= limit)
                {
                    break;
                }

                if (json)
                {
                    Print(item.GetRawText());
                    continue;
                }

                var row = new[]
                {
                    item.GetProperty("id").GetInt64().ToString(CultureInfo.InvariantCulture),
                    Text(item, "processing") ?? Text(item, "status") ?? "",
                    item.GetProperty("size").GetInt64().ToString(CultureInfo.InvariantCulture),
                    Text(item, "fileName") ?? "",
                    string.Join(',', item.GetProperty("tags").EnumerateArray().Select(t => t.GetString())),
                };
                if (table is null)
                {
                    Print(string.Join('\t', row));
                }
                else
                {
                    table.AddRow([.. row.Append(Text(item, "title") ?? "").Select(Markup.Escape)]);
                }
            }

            next = page.TryGetProperty("next", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        }

        if (table is not null)
        {
            AnsiConsole.Write(table);
        }

        return ExitCodes.Ok;
    }

    private static string? Text(JsonElement item, string name) =>
        item.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
