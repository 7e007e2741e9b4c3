using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using MediaService.Cli.Http;

namespace MediaService.Cli.Commands;

/// <summary><c>media wait ID</c>: polls the item's metadata (cheaply: <c>If-None-Match</c> on its ETag answers 304 while
/// nothing changed) until processing has ended.</summary>
public sealed class WaitCommand : Command
{
    public override string Name => "wait";

    public override string Usage => "ID [--timeout SECONDS] [--interval SECONDS] [--json]";

    public override string Summary => "Waits until the item's processing has ended; exit 0 when ready, 6 when rejected or failed, 7 on timeout.";

    public override string? Details => """
        Prints the final status (ready, rejected: REASON, failed: REASON), or with --json the item's metadata.
        An upload still arriving or being assembled is waited for too; one that failed, expired or was
        terminated ends the wait with exit 6.
        """;

    public override IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("timeout", null, "SECONDS", "give up after this long (default 600)"),
        new("interval", null, "SECONDS", "time between two looks (default 1)"),
        new("json", null, null, "print the item's metadata as JSON"),
    ];

    public override async Task<int> RunAsync(Arguments args, CancellationToken cancellationToken)
    {
        var id = ParseId(args);
        var timeout = TimeSpan.FromSeconds(args.Number("timeout", 600, 0, int.MaxValue));
        var interval = TimeSpan.FromSeconds(args.Number("interval", 1, 1, 3600));
        using var api = new MediaApi(ServiceSettings.Resolve(args));
        var deadline = DateTime.UtcNow + timeout;
        EntityTagHeaderValue? etag = null;
        JsonElement item = default;
        while (true)
        {
            var known = etag;
            using (var response = await api.SendAsync(() =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, api.Resolve($"media/{id}"));
                if (known is not null)
                {
                    request.Headers.IfNoneMatch.Add(known);
                }

                return request;
            }, $"wait {id}", cancellationToken))
            {
                if (response.StatusCode != HttpStatusCode.NotModified)
                {
                    if (!response.IsSuccessStatusCode)
                    {
                        throw await MediaApi.ErrorAsync(response, $"wait {id}", cancellationToken);
                    }

                    etag = response.Headers.ETag;
                    using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                    item = document.RootElement.Clone();
                }
            }

            var (ended, exit, text) = Outcome(item);
            if (ended)
            {
                if (args.Has("json"))
                {
                    Print(item.GetRawText());
                }
                else
                {
                    Print(text);
                }

                return exit;
            }

            if (DateTime.UtcNow + interval > deadline)
            {
                throw new CliException(ExitCodes.Timeout, $"wait {id}: still {text} after {timeout.TotalSeconds:0} s");
            }

            await Task.Delay(interval, cancellationToken);
        }
    }

    // The upload's status, then processing's: ended or not, the exit code, and what to print.
    private static (bool Ended, int Exit, string Text) Outcome(JsonElement item)
    {
        var status = item.GetProperty("status").GetString();
        var reason = item.TryGetProperty("failureReason", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
        if (status is "failed" or "expired" or "terminated")
        {
            return (true, ExitCodes.Rejected, reason is null ? status : $"{status}: {reason}");
        }

        if (status != "stored" || !item.TryGetProperty("processing", out var processing) || processing.ValueKind != JsonValueKind.Object)
        {
            return (false, 0, status == "stored" ? "waiting for processing" : status!);
        }

        var outcome = processing.GetProperty("status").GetString();
        var why = processing.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
        return outcome switch
        {
            "ready" => (true, ExitCodes.Ok, "ready"),
            "rejected" or "failed" => (true, ExitCodes.Rejected, why is null ? outcome : $"{outcome}: {why}"),
            _ => (false, 0, outcome!),
        };
    }
}
