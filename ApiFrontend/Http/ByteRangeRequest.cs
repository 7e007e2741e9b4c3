using System.Globalization;

namespace MediaService.ApiFrontend.Http;

/// <summary>How a GET with an optional <c>Range</c> header is to be answered.</summary>
public enum RangeDecision
{
    /// <summary>200 with the whole representation (no Range, an invalid or multi-range Range, or a stale If-Range).</summary>
    Full,

    /// <summary>206 with one range.</summary>
    Partial,

    /// <summary>416 with <c>Content-Range: bytes */length</c>.</summary>
    Unsatisfiable,
}

/// <summary>The outcome of reading a Range header against a representation of known length.</summary>
/// <param name="Decision">How to answer.</param>
/// <param name="From">First byte, inclusive (Partial only).</param>
/// <param name="To">Last byte, inclusive (Partial only).</param>
public readonly record struct ByteRangeRequest(RangeDecision Decision, long From, long To)
{
    /// <summary>Bytes in the answer's body.</summary>
    public long Length => Decision == RangeDecision.Partial ? To - From + 1 : 0;

    /// <summary>
    /// Reads a single <c>bytes=</c> range per RFC 9110 §14: <c>a-b</c>, <c>a-</c> and the suffix form
    /// <c>-n</c> are resolved here to absolute offsets (the store is only ever asked for absolute ranges).
    /// A syntactically invalid header, another unit, or several ranges are ignored (the full body is sent),
    /// as the RFC allows; a valid range that selects nothing is unsatisfiable.
    /// </summary>
    public static ByteRangeRequest Parse(string? header, long length)
    {
        var full = new ByteRangeRequest(RangeDecision.Full, 0, 0);
        if (string.IsNullOrWhiteSpace(header))
        {
            return full;
        }

        var value = header.Trim();
        const string unit = "bytes=";
        if (!value.StartsWith(unit, StringComparison.OrdinalIgnoreCase))
        {
            return full;
        }

        var spec = value[unit.Length..].Trim();
        if (spec.Length == 0 || spec.Contains(','))
        {
            return full;
        }

        var dash = spec.IndexOf('-');
        if (dash < 0)
        {
            return full;
        }

        var first = spec[..dash].Trim();
        var last = spec[(dash + 1)..].Trim();
        var unsatisfiable = new ByteRangeRequest(RangeDecision.Unsatisfiable, 0, 0);

        if (first.Length == 0)
        {
            // Suffix range: the last n bytes.
            if (!TryParseDigits(last, out var suffix))
            {
                return full;
            }

            if (suffix == 0 || length == 0)
            {
                return unsatisfiable;
            }

            return new ByteRangeRequest(RangeDecision.Partial, Math.Max(0, length - suffix), length - 1);
        }

        if (!TryParseDigits(first, out var from))
        {
            return full;
        }

        long to;
        if (last.Length == 0)
        {
            to = length - 1;
        }
        else if (!TryParseDigits(last, out to) || to < from)
        {
            return full;
        }

        if (from >= length)
        {
            return unsatisfiable;
        }

        return new ByteRangeRequest(RangeDecision.Partial, from, Math.Min(to, length - 1));
    }

    private static bool TryParseDigits(string text, out long value)
    {
        value = 0;
        return text.Length > 0 && text.All(char.IsAsciiDigit)
            && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
