using System.Globalization;

namespace MediaService.Cli;

/// <summary>An option a command accepts: <c>--name</c>, an optional one-letter alias, and whether it takes a value.</summary>
public sealed record OptionSpec(string Name, char? Short, string? ValueName, string Help)
{
    /// <summary>True when the option is followed by a value (<c>--limit 10</c> or <c>--limit=10</c>).</summary>
    public bool TakesValue => ValueName is not null;

    /// <summary>The option as the help lists it.</summary>
    public string Synopsis => (Short is { } s ? $"-{s}, " : "    ") + $"--{Name}" + (ValueName is { } v ? $" {v}" : "");
}

/// <summary>The command line of one command: positional arguments and options, checked against the command's specs.</summary>
public sealed class Arguments
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    private Arguments()
    {
    }

    /// <summary>The positional arguments, in order.</summary>
    public List<string> Positionals { get; } = [];

    /// <summary>Parses <paramref name="args"/>; an unknown option or a missing value is a usage error.</summary>
    public static Arguments Parse(IEnumerable<string> args, IReadOnlyList<OptionSpec> specs)
    {
        var parsed = new Arguments();
        using var e = args.GetEnumerator();
        var optionsEnded = false;
        while (e.MoveNext())
        {
            var arg = e.Current;
            if (optionsEnded || arg == "-" || !arg.StartsWith('-'))
            {
                parsed.Positionals.Add(arg);
                continue;
            }

            if (arg == "--")
            {
                optionsEnded = true;
                continue;
            }

            string name;
            string? inline = null;
            OptionSpec? spec;
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                name = arg[2..];
                var equals = name.IndexOf('=', StringComparison.Ordinal);
                if (equals >= 0)
                {
                    inline = name[(equals + 1)..];
                    name = name[..equals];
                }

                spec = specs.FirstOrDefault(s => s.Name == name);
            }
            else
            {
                spec = arg.Length >= 2 ? specs.FirstOrDefault(s => s.Short == arg[1]) : null;
                name = spec?.Name ?? arg;
                if (spec is not null && arg.Length > 2)
                {
                    inline = arg[2..];
                }
            }

            if (spec is null)
            {
                throw new CliException(ExitCodes.Usage, $"unknown option {arg} (see --help)");
            }

            string value;
            if (!spec.TakesValue)
            {
                if (inline is not null)
                {
                    throw new CliException(ExitCodes.Usage, $"--{spec.Name} takes no value");
                }

                value = "";
            }
            else if (inline is not null)
            {
                value = inline;
            }
            else if (e.MoveNext())
            {
                value = e.Current;
            }
            else
            {
                throw new CliException(ExitCodes.Usage, $"--{spec.Name} needs a value ({spec.ValueName})");
            }

            if (!parsed._values.TryGetValue(spec.Name, out var list))
            {
                parsed._values[spec.Name] = list = [];
            }

            list.Add(value);
        }

        return parsed;
    }

    /// <summary>True when the option was given.</summary>
    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>The option's last value, or null.</summary>
    public string? Value(string name) => _values.TryGetValue(name, out var list) ? list[^1] : null;

    /// <summary>Every value of a repeatable option.</summary>
    public IReadOnlyList<string> Values(string name) => _values.TryGetValue(name, out var list) ? list : [];

    /// <summary>A whole number within bounds, or <paramref name="fallback"/> when absent.</summary>
    public long Number(string name, long fallback, long min, long max)
    {
        if (Value(name) is not { } text)
        {
            return fallback;
        }

        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
        {
            throw new CliException(ExitCodes.Usage, $"--{name}: expected a whole number from {min} to {max}, got '{text}'");
        }

        return n;
    }

    /// <summary>A size in bytes (<c>1048576</c>, <c>512K</c>, <c>8M</c>, <c>1G</c>, binary units; <c>MiB</c> and <c>MB</c> alike).</summary>
    public long Size(string name, long fallback, long min, long max)
    {
        if (Value(name) is not { } text)
        {
            return fallback;
        }

        if (!TryParseSize(text, out var bytes) || bytes < min || bytes > max)
        {
            throw new CliException(ExitCodes.Usage, $"--{name}: expected a size from {min} to {max} bytes (e.g. 512K, 8M), got '{text}'");
        }

        return bytes;
    }

    /// <summary>Parses a size with an optional binary unit suffix.</summary>
    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        var t = text.Trim().ToUpperInvariant();
        foreach (var suffix in new[] { "IB", "B" })
        {
            if (t.Length > 1 && t.EndsWith(suffix, StringComparison.Ordinal) && char.IsLetter(t[^(suffix.Length + 1)]))
            {
                t = t[..^suffix.Length];
                break;
            }
        }

        long unit = 1;
        if (t.Length > 0 && "KMGT".Contains(t[^1], StringComparison.Ordinal))
        {
            unit = t[^1] switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1L << 40 };
            t = t[..^1];
        }

        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > long.MaxValue / unit)
        {
            return false;
        }

        bytes = n * unit;
        return true;
    }
}
