using System.Globalization;
using System.Text;
using Microsoft.Net.Http.Headers;

namespace MediaService.ApiFrontend.Media;

/// <summary>Client-supplied file names, reduced to something safe to store and to echo in headers.</summary>
public static class FileNames
{
    /// <summary>
    /// Keeps the last path segment, drops control and format characters, trims dots and spaces at the
    /// ends and cuts to <paramref name="maxLength"/> without splitting a surrogate pair. Null when nothing is left.
    /// </summary>
    public static string? Sanitize(string? raw, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(raw))
        {
            return null;
        }

        var lastSeparator = raw.LastIndexOfAny(['/', '\\']);
        var name = lastSeparator >= 0 ? raw[(lastSeparator + 1)..] : raw;
        var builder = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            var category = char.GetUnicodeCategory(c);
            if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                continue;
            }

            builder.Append(c);
        }

        var cleaned = builder.ToString().Trim().Trim('.').Trim();
        if (cleaned.Length > maxLength)
        {
            var cut = char.IsHighSurrogate(cleaned[maxLength - 1]) ? maxLength - 1 : maxLength;
            cleaned = cleaned[..cut];
        }

        return cleaned.Length == 0 ? null : cleaned;
    }

    /// <summary>The file name from a <c>Content-Disposition</c> request header (<c>filename*</c> preferred), if any.</summary>
    public static string? FromContentDisposition(string? header)
    {
        if (string.IsNullOrEmpty(header) || !ContentDispositionHeaderValue.TryParse(header, out var parsed))
        {
            return null;
        }

        var star = parsed.FileNameStar.Value;
        if (!string.IsNullOrEmpty(star))
        {
            return star;
        }

        var plain = parsed.FileName.Value;
        return string.IsNullOrEmpty(plain) ? null : HeaderUtilities.RemoveQuotes(plain).Value;
    }
}
