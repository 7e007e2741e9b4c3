using System.Collections.Immutable;
using System.Text;

namespace MediaService.ApiFrontend.Tus;

/// <summary>
/// The tus <c>Upload-Metadata</c> header: comma-separated pairs of a key and an optional base64 value. Keys are
/// non-empty, unique, and contain neither spaces nor commas; values must be valid base64. The header is kept
/// as sent (it is echoed on HEAD) once it has been validated here.
/// </summary>
public static class TusMetadata
{
    /// <summary>Parses and validates; returns false with a reason on any violation.</summary>
    public static bool TryParse(string? header, int maxBytes, out ImmutableDictionary<string, byte[]> pairs, out string? error)
    {
        pairs = ImmutableDictionary<string, byte[]>.Empty;
        error = null;
        if (string.IsNullOrEmpty(header))
        {
            return true;
        }

        if (Encoding.UTF8.GetByteCount(header) > maxBytes)
        {
            error = $"Upload-Metadata is longer than {maxBytes} bytes.";
            return false;
        }

        var builder = ImmutableDictionary.CreateBuilder<string, byte[]>(StringComparer.Ordinal);
        foreach (var rawPair in header.Split(','))
        {
            var pair = rawPair.Trim();
            var space = pair.IndexOf(' ');
            var key = space < 0 ? pair : pair[..space];
            var value = space < 0 ? string.Empty : pair[(space + 1)..];
            if (key.Length == 0 || key.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c > 0x7E))
            {
                error = $"Upload-Metadata has an invalid key '{key}'.";
                return false;
            }

            if (value.Contains(' '))
            {
                error = $"Upload-Metadata value of '{key}' contains a space.";
                return false;
            }

            var bytes = new byte[value.Length];
            if (!Convert.TryFromBase64String(value, bytes, out var written))
            {
                error = $"Upload-Metadata value of '{key}' is not base64.";
                return false;
            }

            if (!builder.TryAdd(key, bytes[..written]))
            {
                error = $"Upload-Metadata repeats the key '{key}'.";
                return false;
            }
        }

        pairs = builder.ToImmutable();
        return true;
    }

    /// <summary>A value as UTF-8 text, or null when absent or not valid UTF-8.</summary>
    public static string? Text(ImmutableDictionary<string, byte[]> pairs, string key)
    {
        if (!pairs.TryGetValue(key, out var bytes))
        {
            return null;
        }

        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
