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
        foreach (var (name, binary) in new[] { ("ffmpeg", ffmpeg), ("ffprobe", ffprobe) })
        {
            var wrapper = Path.Combine(_wrappers, name);
            File.WriteAllText(wrapper,
                $"#!/bin/sh\nexec {(nice is null ? string.Empty : $"'{nice}' -n {options.FfmpegNiceness} ")}'{prlimit}' --as={limit} --cpu={cpuSeconds} --core=0 --nofile=64 -- '{binary}' \"$@\"\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
    }

    /// <summary>True when ffmpeg, ffprobe and prlimit were all found.</summary>
    public bool Available => _wrappers is not null;

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
