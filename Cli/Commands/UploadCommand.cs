using MediaService.Cli.Http;
using MediaService.Cli.Tus;
using Spectre.Console;

namespace MediaService.Cli.Commands;

/// <summary><c>media upload FILE_OR_FOLDER...</c>: tus uploads, resumable across runs, several at once.</summary>
public sealed class UploadCommand : Command
{
    /// <summary>The chunk size unless <c>--chunk-size</c> says otherwise.</summary>
    public const long DefaultChunkSize = 8L << 20;

    public override string Name => "upload";

    public override string Usage => "FILE_OR_FOLDER... [--parallel N] [--chunk-size S] [--tag T]... [--json]";

    public override string Summary => "Uploads files (folders: every file below them, sorted) over tus, resumably.";

    public override string? Details => """
        An upload cut by Ctrl-C, a kill or a network failure resumes where the service's offset is when the same
        file (same path, size and modification time) is uploaded again: the state file keeps each unfinished
        upload's URL ($MEDIA_STATE_FILE, else $XDG_STATE_HOME/media/uploads.json, else ~/.local/state/media/uploads.json).
        Network failures and 5xx/429 answers are retried with backoff, honouring Retry-After. Hidden files in folders
        are skipped. Each file prints "ID<TAB>FILE" (with --json: {"file","id","size","sha256","resumedFrom","url","tags"},
        or {"file","error","exit"} when it failed); the others go on when one fails, and the exit code is the first
        failure's. Missing files are a usage error (2) before anything is uploaded.
        """;

    public override IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("parallel", 'p', "N", "files uploaded at once (default 4)"),
        new("chunk-size", 'c', "SIZE", "bytes per PATCH, e.g. 512K, 8M (default 8M)"),
        new("tag", 't', "TAG", "a tag for every uploaded item (repeatable)"),
        new("json", null, null, "one JSON object per file on stdout"),
        new("state", null, "FILE", "the state file of unfinished uploads"),
        new("limit-rate", null, "SIZE", "at most this many bytes per second in all (e.g. 2M)"),
    ];

    public override async Task<int> RunAsync(Arguments args, CancellationToken cancellationToken)
    {
        var parallel = (int)args.Number("parallel", 4, 1, 64);
        var chunkSize = (int)args.Size("chunk-size", DefaultChunkSize, 64 << 10, 1L << 30);
        var json = args.Has("json");
        var tags = args.Values("tag").Select(t => t.Trim()).Where(t => t.Length > 0).Distinct().ToArray();
        var pacer = args.Has("limit-rate") ? new Pacer(args.Size("limit-rate", 0, 1024, long.MaxValue)) : null;
        var files = Expand(args.Positionals);
        var settings = ServiceSettings.Resolve(args);
        var state = new UploadState(args.Value("state") is { } s ? Path.GetFullPath(s) : UploadState.DefaultPath());

        using var api = new MediaApi(settings);
        var capabilities = await TusCapabilities.DiscoverAsync(api, cancellationToken);
        var uploader = new TusUploader(api, state, capabilities, chunkSize, tags, pacer);
        var failures = new int?[files.Count];

        // A progress bar per file where a person watches (stdout a terminal; with --json, stderr when stdout is not).
        IAnsiConsole? live = !json && !Console.IsOutputRedirected ? AnsiConsole.Console
            : json && Console.IsOutputRedirected && !Console.IsErrorRedirected ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) })
            : null;
        var done = new List<UploadResult?>(new UploadResult?[files.Count]);
        var notes = new List<string>();

        async Task UploadOneAsync(int index, Action<long> progress, Action<string> note, CancellationToken token)
        {
            var file = files[index];
            try
            {
                var result = await uploader.UploadAsync(file, progress, note, token);
                done[index] = result;
                if (json)
                {
                    PrintJson(result);
                }
                else if (live is null)
                {
                    Print($"{result.Id}\t{result.File}");
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
            {
                var failure = ex as CliException ?? new CliException(ExitCodes.Failure, $"upload {file.Display}: {ex.Message}", ex);
                failures[index] = failure.ExitCode;
                note(failure.Message);
                if (json)
                {
                    PrintJson(new { file = file.Display, error = failure.Message, exit = failure.ExitCode });
                }
            }
        }

        var options = new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken };
        if (live is null)
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, files.Count), options,
                (i, token) => new ValueTask(UploadOneAsync(i, _ => { }, Note, token)));
        }
        else
        {
            await live.Progress()
                .AutoClear(false)
                .HideCompleted(files.Count > 12)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(),
                    new TransferSpeedColumn(), new RemainingTimeColumn())
                .StartAsync(async context =>
                {
                    var total = files.Count > 1 ? context.AddTask($"{files.Count} files", maxValue: Math.Max(1, files.Sum(f => f.Size))) : null;
                    var sizes = new long[files.Count];
                    await Parallel.ForEachAsync(Enumerable.Range(0, files.Count), options, async (i, token) =>
                    {
                        var task = context.AddTask(Markup.Escape(Shorten(files[i].Display)), maxValue: Math.Max(1, files[i].Size));
                        void Progress(long value)
                        {
                            task.Value = value;
                            if (total is not null)
                            {
                                total.Increment(value - Interlocked.Exchange(ref sizes[i], value));
                            }
                        }

                        void Remember(string line)
                        {
                            lock (notes)
                            {
                                notes.Add(line);
                            }

                            if (line.Contains("resuming", StringComparison.Ordinal))
                            {
                                task.Description = Markup.Escape(Shorten(files[i].Display)) + " [grey](resumed)[/]";
                            }
                        }

                        await UploadOneAsync(i, Progress, Remember, token);
                        if (failures[i] is not null)
                        {
                            task.Description = Markup.Escape(Shorten(files[i].Display)) + " [red](failed)[/]";
                        }
                        else
                        {
                            task.Value = task.MaxValue; // an empty file is done too
                        }

                        task.StopTask();
                    });
                    total?.StopTask();
                });

            foreach (var line in notes)
            {
                Note(line);
            }

            if (!json)
            {
                foreach (var result in done.OfType<UploadResult>())
                {
                    Print($"{result.Id}\t{result.File}");
                }
            }
        }

        return failures.FirstOrDefault(f => f is not null) ?? ExitCodes.Ok;
    }

    /// <summary>The files named: folders expand to the files below them (recursively, sorted, hidden ones skipped).
    /// A path that does not exist is a usage error, before anything is uploaded.</summary>
    public static List<SourceFile> Expand(IReadOnlyList<string> paths)
    {
        if (paths.Count == 0)
        {
            throw new CliException(ExitCodes.Usage, "upload: name at least one file or folder (see --help)");
        }

        var files = new List<SourceFile>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var missing = new List<string>();
        void Add(string display, FileInfo info)
        {
            if (seen.Add(info.FullName))
            {
                files.Add(new SourceFile(display, info.FullName, info.Length, info.LastWriteTimeUtc));
            }
        }

        foreach (var path in paths)
        {
            if (File.Exists(path))
            {
                Add(path, new FileInfo(path));
            }
            else if (Directory.Exists(path))
            {
                var root = new DirectoryInfo(path);
                var below = root.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
                    .OrderBy(f => f.FullName, StringComparer.Ordinal);
                foreach (var info in below)
                {
                    Add(Path.Combine(path, Path.GetRelativePath(root.FullName, info.FullName)), info);
                }
            }
            else
            {
                missing.Add(path);
            }
        }

        if (missing.Count > 0)
        {
            throw new CliException(ExitCodes.Usage, $"no such file or folder: {string.Join(", ", missing)}");
        }

        if (files.Count == 0)
        {
            throw new CliException(ExitCodes.Usage, "upload: the folders named hold no files");
        }

        return files;
    }

    private static string Shorten(string name) => name.Length <= 40 ? name : "…" + name[^39..];
}
