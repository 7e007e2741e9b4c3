using System.Runtime.InteropServices;
using MediaService.Cli;
using MediaService.Cli.Commands;
using MediaService.Cli.Http;

// media: the command-line client of the media service (see README, "Command-line client").
Command[] commands = [new UploadCommand(), new ListCommand(), new GetCommand(), new RemoveCommand(), new LinkCommand(), new WaitCommand()];

using var stop = new CancellationTokenSource();
var signalled = 0;
void OnSignal(PosixSignalContext context, int exitCode)
{
    // The first signal stops the work cleanly (uploads keep their state); a second one ends the process at once.
    if (Interlocked.CompareExchange(ref signalled, exitCode, 0) == 0)
    {
        context.Cancel = true;
        stop.Cancel();
    }
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => OnSignal(c, ExitCodes.Interrupted));
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => OnSignal(c, ExitCodes.Terminated));

string TopHelp() => string.Join('\n',
[
    "media: the command-line client of the media service.",
    "",
    "Usage: media COMMAND [ARGUMENTS] [--url URL] [--key KEY] [--retries N]",
    "",
    "Commands:",
    .. commands.Select(c => $"  {c.Name,-8} {c.Summary}"),
    "",
    "Run 'media COMMAND --help' for a command's arguments and options.",
    "",
    "Service and key: --url/--key, then $MEDIA_URL/$MEDIA_KEY, then ./run.sh's defaults",
    $"  ({ServiceSettings.DefaultUrl} and the key in <repository>/.data/dev-api-key).",
    "",
    ExitCodes.Help.TrimEnd(),
]);

// Global options may come before the command (media --url URL ls): they are moved behind it.
string[] CommandFirst(string[] given)
{
    for (var i = 0; i < given.Length; i++)
    {
        var arg = given[i];
        var global = ServiceSettings.Options.FirstOrDefault(o => arg == $"--{o.Name}" || arg.StartsWith($"--{o.Name}=", StringComparison.Ordinal));
        if (global is null)
        {
            return i == 0 ? given : [given[i], .. given[..i], .. given[(i + 1)..]];
        }

        if (global.TakesValue && !arg.Contains('=', StringComparison.Ordinal))
        {
            i++;
        }
    }

    return given;
}

try
{
    args = CommandFirst(args);
    if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
    {
        var topic = args.Length > 1 ? commands.FirstOrDefault(c => c.Name == args[1]) : null;
        Console.Out.WriteLine(topic?.Help() ?? TopHelp());
        return args.Length == 0 ? ExitCodes.Usage : ExitCodes.Ok;
    }

    if (args[0] == "--version")
    {
        Console.Out.WriteLine($"media {typeof(ExitCodes).Assembly.GetName().Version?.ToString(3)}");
        return ExitCodes.Ok;
    }

    var command = commands.FirstOrDefault(c => c.Name == args[0])
        ?? throw new CliException(ExitCodes.Usage, $"unknown command '{args[0]}' (commands: {string.Join(", ", commands.Select(c => c.Name))})");
    var parsed = Arguments.Parse(args.Skip(1), command.AllOptions);
    if (parsed.Has("help"))
    {
        Console.Out.WriteLine(command.Help());
        return ExitCodes.Ok;
    }

    return await command.RunAsync(parsed, stop.Token);
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    Console.Error.WriteLine("media: interrupted; run the same command again to resume unfinished uploads");
    return signalled == 0 ? ExitCodes.Interrupted : signalled;
}
catch (CliException ex)
{
    Console.Error.WriteLine($"media: {ex.Message}");
    return ex.ExitCode;
}
catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"media: {ex.Message}");
    return ExitCodes.Failure;
}
