using FFMpegCore;

namespace MediaService.Grains.Processing;

/// <summary>
/// Runs ffmpeg and ffprobe through wrappers that put each process under prlimit (an address-space cap, a CPU-time cap,
/// no core dumps, few open files) and at a lower priority than the silo's request work (nice). FFMpegCore is pointed at the wrappers' folder. Together with the arguments the processor
/// always passes (<c>-protocol_whitelist file</c> and a forced demuxer), a crafted file can neither reach the network
/// nor open another local file, nor take the silo's memory.
/// </summary>
public sealed class FfmpegSandbox
{
    private readonly string? _wrappers;

    /// <summary>Writes the wrappers into <paramref name="workRoot"/>; without ffmpeg or prlimit, <see cref="Available"/> is false.</summary>
    public FfmpegSandbox(ProcessingOptions options, string workRoot)
    {
        var ffmpeg = Find("ffmpeg", options.FfmpegFolder);
        var ffprobe = Find("ffprobe", options.FfmpegFolder);
        var prlimit = Find("prlimit", null);
        var nice = Find("nice", null);
        if (ffmpeg is null || ffprobe is null || prlimit is null)
        {
            Missing = string.Join(", ", new[] { ("ffmpeg", ffmpeg), ("ffprobe", ffprobe), ("prlimit", prlimit) }.Where(t => t.Item2 is null).Select(t => t.Item1));
            return;
        }

        _wrappers = Directory.CreateDirectory(Path.Combine(workRoot, "bin")).FullName;
        var limit = (long)options.FfmpegMemoryMegabytes * 1024 * 1024;
        var cpuSeconds = (long)Math.Ceiling(options.FfmpegTimeout.TotalSeconds) * 2;

        // libheif's tools (HEIC and AVIF) run under the same rules, when they are installed.
        var heif = new[] { "heif-info", "heif-convert", "heif-enc" }.Select(name => (name, Find(name, options.HeifFolder))).ToArray();
        HeifAvailable = heif.All(tool => tool.Item2 is not null);
        MissingHeif = HeifAvailable ? null : string.Join(", ", heif.Where(t => t.Item2 is null).Select(t => t.name));
        foreach (var (name, binary) in new[] { ("ffmpeg", ffmpeg), ("ffprobe", ffprobe) }.Concat(HeifAvailable ? heif.Select(t => (t.name, t.Item2!)) : []))
        {
            var wrapper = Path.Combine(_wrappers, name);
            // libheif's tools write pictures of a known size at most: their files are capped too.
            var files = name.StartsWith("heif-", StringComparison.Ordinal) ? $" --fsize={2L * 1024 * 1024 * 1024}" : string.Empty;
            File.WriteAllText(wrapper,
                $"#!/bin/sh\nexec {(nice is null ? string.Empty : $"'{nice}' -n {options.FfmpegNiceness} ")}'{prlimit}' --as={limit} --cpu={cpuSeconds} --core=0 --nofile=64{files} -- '{binary}' \"$@\"\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
    }

    /// <summary>True when ffmpeg, ffprobe and prlimit were all found.</summary>
    public bool Available => _wrappers is not null;

    /// <summary>True when libheif's heif-info, heif-convert and heif-enc were found too.</summary>
    public bool HeifAvailable { get; }

    /// <summary>Which of libheif's tools are missing, when not <see cref="HeifAvailable"/>.</summary>
    public string? MissingHeif { get; }

    /// <summary>
    /// Runs one of the sandboxed tools (<c>heif-info</c>, <c>heif-convert</c>, <c>heif-enc</c>) with fixed arguments in
    /// the job's folder, with an environment of its own (no proxy settings, no plugin paths), stopped at
    /// <paramref name="timeout"/>. Returns the exit code and the last of its error output.
    /// </summary>
    public async Task<(int ExitCode, string Output)> RunAsync(string tool, IEnumerable<string> arguments, string jobDirectory, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_wrappers is null || !HeifAvailable)
        {
            // Transient: another attempt may run on a silo that has the tools.
            throw new InvalidOperationException($"HEIF processing is unavailable on this silo: {MissingHeif ?? Missing} not found.");
        }

        var start = new System.Diagnostics.ProcessStartInfo(Path.Combine(_wrappers, tool))
        {
            WorkingDirectory = jobDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Clear();
        start.Environment["PATH"] = "/usr/bin:/bin";
        start.Environment["HOME"] = jobDirectory;
        using var process = System.Diagnostics.Process.Start(start) ?? throw new ProcessingFailedException($"{tool} did not start.");
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"{tool} took longer than {timeout}.");
        }

        var text = (await output) + (await errors);
        return (process.ExitCode, text.Length > 4000 ? text[^4000..] : text);
    }

    /// <summary>What is missing, when not <see cref="Available"/>.</summary>
    public string? Missing { get; }

    /// <summary>FFMpegCore options for one job: the wrappers, and the job's folder for anything temporary.</summary>
    public FFOptions Options(string jobDirectory) => new()
    {
        BinaryFolder = _wrappers ?? throw new ProcessingFailedException($"Audio and video processing is unavailable on this silo: {Missing} not found."),
        TemporaryFilesFolder = jobDirectory,
        WorkingDirectory = jobDirectory,
    };

    private static string? Find(string name, string? folder)
    {
        var folders = folder is not null
            ? [folder]
            : (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin").Append("/bin");
        return folders.Select(f => Path.Combine(f, name)).FirstOrDefault(File.Exists);
    }
}
