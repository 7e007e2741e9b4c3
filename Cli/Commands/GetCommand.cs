using System.Net;
using System.Net.Http.Headers;
using MediaService.Cli.Http;

namespace MediaService.Cli.Commands;

/// <summary><c>media get ID</c>: the item's content, streamed to stdout or a file; a download cut midway goes on with a
/// range request (<c>If-Range</c> on the content's ETag), within the retries.</summary>
public sealed class GetCommand : Command
{
    public override string Name => "get";

    public override string Usage => "ID [-o FILE]";

    public override string Summary => "Writes an item's content to stdout, or to FILE (written beside it, then renamed).";

    public override IReadOnlyList<OptionSpec> Options { get; } = [new("output", 'o', "FILE", "write to FILE instead of stdout")];

    public override async Task<int> RunAsync(Arguments args, CancellationToken cancellationToken)
    {
        var id = ParseId(args);
        var output = args.Value("output") is { } o && o != "-" ? Path.GetFullPath(o) : null;
        using var api = new MediaApi(ServiceSettings.Resolve(args));
        var partial = output is null ? null : $"{output}.{Environment.ProcessId}.partial";
        var target = partial is null ? Console.OpenStandardOutput() : new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        var complete = false;
        try
        {
            await DownloadAsync(api, id, target, cancellationToken);
            await target.FlushAsync(cancellationToken);
            complete = true;
        }
        finally
        {
            await target.DisposeAsync();
            if (partial is not null)
            {
                if (complete)
                {
                    File.Move(partial, output!, overwrite: true);
                }
                else
                {
                    File.Delete(partial);
                }
            }
        }

        return ExitCodes.Ok;
    }

    private static async Task DownloadAsync(MediaApi api, long id, Stream target, CancellationToken cancellationToken)
    {
        long written = 0;
        EntityTagHeaderValue? etag = null;
        for (var failures = 0; ; failures++)
        {
            var from = written;
            var tag = etag;
            using var response = await api.SendAsync(() =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, api.Resolve($"media/{id}/content"));
                if (from > 0 && tag is not null)
                {
                    request.Headers.Range = new RangeHeaderValue(from, null);
                    request.Headers.IfRange = new RangeConditionHeaderValue(tag);
                }

                return request;
            }, $"get {id}", cancellationToken, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode == HttpStatusCode.OK && from > 0)
            {
                // The content changed (If-Range failed): a stream can only go forward.
                throw new CliException(ExitCodes.Failure, $"get {id}: the content changed during the download");
            }

            if (!response.IsSuccessStatusCode)
            {
                throw await MediaApi.ErrorAsync(response, $"get {id}", cancellationToken);
            }

            etag ??= response.Headers.ETag;
            Exception? cut = null;
            await using (var body = await response.Content.ReadAsStreamAsync(cancellationToken))
            {
                var buffer = new byte[1 << 16];
                while (true)
                {
                    int n;
                    try
                    {
                        n = await body.ReadAsync(buffer, cancellationToken);
                    }
                    catch (Exception ex) when (MediaApi.IsNetworkFailure(ex, cancellationToken))
                    {
                        cut = ex;
                        break;
                    }

                    if (n == 0)
                    {
                        return;
                    }

                    // A failure to write (a full disk, a closed pipe) is not the network's: it ends the command.
                    await target.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                    written += n;
                }
            }

            if (etag is null || failures >= api.Settings.Retries)
            {
                throw new CliException(ExitCodes.Unavailable, $"get {id}: {api.Unreachable(cut)} after {written} bytes");
            }

            await Task.Delay(MediaApi.Backoff(failures, null), cancellationToken);
        }
    }
}
