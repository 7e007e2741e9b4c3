using System.Text.Json;
using MediaService.Cli.Http;

namespace MediaService.Cli.Commands;

/// <summary>A command of <c>media</c>.</summary>
public abstract class Command
{
    /// <summary>JSON as the commands print it: camelCase, one object per line.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly Lock OutputLock = new();

    /// <summary>The command's name (<c>upload</c>).</summary>
    public abstract string Name { get; }

    /// <summary>Its arguments, for the help (<c>ID [-o FILE]</c>).</summary>
    public abstract string Usage { get; }

    /// <summary>One line on what it does.</summary>
    public abstract string Summary { get; }

    /// <summary>More on what it does and prints, for its help.</summary>
    public virtual string? Details => null;

    /// <summary>Its own options (the global ones are added).</summary>
    public abstract IReadOnlyList<OptionSpec> Options { get; }

    /// <summary>Its own options and the global ones.</summary>
    public IReadOnlyList<OptionSpec> AllOptions => [.. Options, .. ServiceSettings.Options];

    /// <summary>Runs the command; the exit code.</summary>
    public abstract Task<int> RunAsync(Arguments args, CancellationToken cancellationToken);

    /// <summary>The help of this command.</summary>
    public string Help()
    {
        var lines = new List<string> { $"Usage: media {Name} {Usage}", "", Summary };
        if (Details is { } details)
        {
            lines.Add("");
            lines.Add(details.TrimEnd());
        }

        lines.Add("");
        lines.Add("Options:");
        lines.AddRange(AllOptions.Select(o => $"  {o.Synopsis,-28} {o.Help}"));
        return string.Join('\n', lines);
    }

    /// <summary>Writes one line to stdout (whole, even from several uploads at once).</summary>
    public static void Print(string line)
    {
        lock (OutputLock)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }

    /// <summary>Writes one JSON object as a line to stdout.</summary>
    public static void PrintJson<T>(T value) => Print(JsonSerializer.Serialize(value, Json));

    /// <summary>Writes a note to stderr.</summary>
    public static void Note(string line)
    {
        lock (OutputLock)
        {
            Console.Error.WriteLine($"media: {line}");
        }
    }

    /// <summary>An item id: a positive whole number, or a URL or path ending with one (<c>/media/123</c>, <c>/files/123</c>).</summary>
    public static long ParseId(Arguments args)
    {
        if (args.Positionals.Count != 1)
        {
            throw new CliException(ExitCodes.Usage, "expected one item id (see --help)");
        }

        var text = args.Positionals[0].TrimEnd('/');
        text = text[(text.LastIndexOf('/') + 1)..];
        return long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) && id > 0
            ? id
            : throw new CliException(ExitCodes.Usage, $"not an item id: '{args.Positionals[0]}'");
    }
}
