using System.Collections.Immutable;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text;

namespace MediaService.Grains.Interfaces;

/// <summary>What people say about an item: title, description, tags, keywords and a few custom fields.</summary>
[GenerateSerializer, Immutable, Alias("MediaService.Annotations")]
public sealed record Annotations
{
    /// <summary>No annotations.</summary>
    public static readonly Annotations Empty = new();

    [Id(0)] public string? Title { get; init; }
    [Id(1)] public string? Description { get; init; }

    /// <summary>Normalized tags (lower case, words joined by '-'), unique, in the order given.</summary>
    [Id(2)] public ImmutableArray<string> Tags { get; init; } = [];

    /// <summary>Keywords, unique regardless of case, in the order given.</summary>
    [Id(3)] public ImmutableArray<string> Keywords { get; init; } = [];

    /// <summary>Custom string fields.</summary>
    [Id(4)] public ImmutableSortedDictionary<string, string> Custom { get; init; } = ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);
}

/// <summary>
/// A JSON merge patch (RFC 7396) of <see cref="Annotations"/>: a member absent keeps its value, null removes it, a
/// value replaces it (arrays whole); <c>custom</c> merges key by key (a null value removes that key; <c>custom: null</c>
/// removes them all).
/// </summary>
[GenerateSerializer, Immutable, Alias("MediaService.AnnotationsPatch")]
public sealed record AnnotationsPatch
{
    [Id(0)] public bool SetTitle { get; init; }
    [Id(1)] public string? Title { get; init; }
    [Id(2)] public bool SetDescription { get; init; }
    [Id(3)] public string? Description { get; init; }
    [Id(4)] public bool SetTags { get; init; }
    [Id(5)] public ImmutableArray<string> Tags { get; init; } = [];
    [Id(6)] public bool SetKeywords { get; init; }
    [Id(7)] public ImmutableArray<string> Keywords { get; init; } = [];

    /// <summary><c>custom: null</c>: every custom field goes (before <see cref="Custom"/> applies).</summary>
    [Id(8)] public bool ClearCustom { get; init; }

    /// <summary>Custom fields to set, or to remove (null value).</summary>
    [Id(9)] public ImmutableDictionary<string, string?> Custom { get; init; } = ImmutableDictionary<string, string?>.Empty;
}

/// <summary>Limits of the metadata model. Section <c>Metadata</c>.</summary>
public sealed class MetadataOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Metadata";

    /// <summary>Longest title, in characters. Default 200.</summary>
    [Range(1, 10_000)]
    public int MaxTitleLength { get; set; } = 200;

    /// <summary>Longest description, in characters. Default 5000.</summary>
    [Range(1, 100_000)]
    public int MaxDescriptionLength { get; set; } = 5000;

    /// <summary>Most tags per item. Default 32.</summary>
    [Range(0, 1000)]
    public int MaxTags { get; set; } = 32;

    /// <summary>Longest tag, after normalization. Default 40.</summary>
    [Range(1, 1000)]
    public int MaxTagLength { get; set; } = 40;

    /// <summary>Most keywords per item. Default 32.</summary>
    [Range(0, 1000)]
    public int MaxKeywords { get; set; } = 32;

    /// <summary>Longest keyword. Default 64.</summary>
    [Range(1, 1000)]
    public int MaxKeywordLength { get; set; } = 64;

    /// <summary>Most custom fields per item. Default 16.</summary>
    [Range(0, 1000)]
    public int MaxCustomFields { get; set; } = 16;

    /// <summary>Longest custom field name (letters, digits, '_', '.', '-'; starting with a letter). Default 64.</summary>
    [Range(1, 256)]
    public int MaxCustomKeyLength { get; set; } = 64;

    /// <summary>Longest custom field value. Default 500.</summary>
    [Range(1, 100_000)]
    public int MaxCustomValueLength { get; set; } = 500;

    /// <summary>Largest body of a metadata PATCH, in bytes. Default 64 KiB.</summary>
    [Range(2, 16 * 1024 * 1024)]
    public int MaxPatchBytes { get; set; } = 64 * 1024;

    /// <summary>Longest free-text query, in characters. Default 200.</summary>
    [Range(1, 10_000)]
    public int MaxQueryLength { get; set; } = 200;

    /// <summary>
    /// Lets <c>GET /media/{id}/metadata?source=storage</c> re-read the item from PostgreSQL instead of answering from the
    /// grain's memory: for the benchmark that compares the two, and for diagnosis. Off by default.
    /// </summary>
    public bool AllowStorageReads { get; set; }

    /// <summary>Largest search page. Default 100.</summary>
    [Range(1, 1000)]
    public int MaxPageSize { get; set; } = 100;

    /// <summary>Search page size when the client gives none. Default 20.</summary>
    [Range(1, 1000)]
    public int DefaultPageSize { get; set; } = 20;

    /// <summary>How often an item whose index entry could not be written retries (its durable reminder's period;
    /// at least Orleans' minimum reminder period). Bounds the index's lag after a crash. Default 1 min.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan IndexRetryPeriod { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// The rules of the metadata model, pure: a patch is applied to the current annotations and the result checked
/// against the limits; every broken rule is reported under the name of its field (<c>title</c>, <c>tags[2]</c>,
/// <c>custom.camera</c>), so that a client can show each next to its input.
/// </summary>
public static class AnnotationRules
{
    /// <summary>Applies a patch; returns the new annotations, or the errors by field.</summary>
    public static (Annotations Next, IReadOnlyDictionary<string, string[]> Errors) Apply(Annotations current, AnnotationsPatch patch, MetadataOptions limits)
    {
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Error(string field, string message)
        {
            if (!errors.TryGetValue(field, out var list))
            {
                errors[field] = list = [];
            }

            list.Add(message);
        }

        var next = current;
        if (patch.SetTitle)
        {
            next = next with { Title = Text("title", patch.Title, limits.MaxTitleLength, multiline: false, Error) };
        }

        if (patch.SetDescription)
        {
            next = next with { Description = Text("description", patch.Description, limits.MaxDescriptionLength, multiline: true, Error) };
        }

        if (patch.SetTags)
        {
            if (patch.Tags.Length > limits.MaxTags)
            {
                Error("tags", $"At most {limits.MaxTags} tags.");
            }

            var tags = new List<string>();
            for (var i = 0; i < patch.Tags.Length; i++)
            {
                var tag = NormalizeTag(patch.Tags[i]);
                if (tag.Length == 0 || tag.Length > limits.MaxTagLength || !IsTag(tag))
                {
                    Error($"tags[{i}]", $"A tag is 1 to {limits.MaxTagLength} letters, digits, '-', '_' or '.', starting with a letter or digit (spaces become '-').");
                }
                else if (!tags.Contains(tag, StringComparer.Ordinal))
                {
                    tags.Add(tag);
                }
            }

            next = next with { Tags = [.. tags] };
        }

        if (patch.SetKeywords)
        {
            if (patch.Keywords.Length > limits.MaxKeywords)
            {
                Error("keywords", $"At most {limits.MaxKeywords} keywords.");
            }

            var keywords = new List<string>();
            for (var i = 0; i < patch.Keywords.Length; i++)
            {
                var keyword = Text($"keywords[{i}]", patch.Keywords[i], limits.MaxKeywordLength, multiline: false, Error);
                if (keyword is null)
                {
                    if (!errors.ContainsKey($"keywords[{i}]"))
                    {
                        Error($"keywords[{i}]", "A keyword cannot be empty.");
                    }
                }
                else if (!keywords.Contains(keyword, StringComparer.OrdinalIgnoreCase))
                {
                    keywords.Add(keyword);
                }
            }

            next = next with { Keywords = [.. keywords] };
        }

        if (patch.ClearCustom || !patch.Custom.IsEmpty)
        {
            var custom = patch.ClearCustom ? next.Custom.Clear() : next.Custom;
            foreach (var (key, value) in patch.Custom.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                if (!IsCustomKey(key, limits.MaxCustomKeyLength))
                {
                    Error($"custom.{Shorten(key)}", $"A custom field name is 1 to {limits.MaxCustomKeyLength} letters, digits, '_', '.' or '-', starting with a letter.");
                    continue;
                }

                if (value is null)
                {
                    custom = custom.Remove(key);
                    continue;
                }

                var text = Text($"custom.{key}", value, limits.MaxCustomValueLength, multiline: true, Error);
                custom = text is null ? custom.Remove(key) : custom.SetItem(key, text);
            }

            if (custom.Count > limits.MaxCustomFields)
            {
                Error("custom", $"At most {limits.MaxCustomFields} custom fields.");
            }

            next = next with { Custom = custom };
        }

        return (next, errors.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal));
    }

    /// <summary>A tag as stored: trimmed, lower case, each run of white space turned into one '-'.</summary>
    public static string NormalizeTag(string? tag)
    {
        var builder = new StringBuilder();
        var space = false;
        foreach (var c in (tag ?? string.Empty).Trim().Normalize(NormalizationForm.FormC))
        {
            if (char.IsWhiteSpace(c))
            {
                space = true;
                continue;
            }

            if (space && builder.Length > 0)
            {
                builder.Append('-');
            }

            space = false;
            builder.Append(char.ToLowerInvariant(c));
        }

        return builder.ToString();
    }

    private static bool IsTag(string tag) =>
        char.IsLetterOrDigit(tag[0]) && tag.All(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.');

    private static bool IsCustomKey(string key, int maxLength) =>
        key.Length is > 0 && key.Length <= maxLength && char.IsAsciiLetter(key[0]) && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    // Trimmed text, null when empty; an error when too long or when it holds control characters (a newline and a tab
    // are allowed where the text may span lines).
    private static string? Text(string field, string? value, int maxLength, bool multiline, Action<string, string> error)
    {
        var text = value?.Trim().Normalize(NormalizationForm.FormC);
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (text.Length > maxLength)
        {
            error(field, $"At most {maxLength} characters (this has {text.Length}).");
        }

        if (text.Any(c => char.IsControl(c) && !(multiline && c is '\n' or '\t' or '\r')) || text.Any(c => CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format && c != '\u200D'))
        {
            error(field, multiline ? "Control characters are not allowed (new lines and tabs are)." : "Control characters and line breaks are not allowed.");
        }

        return text;
    }

    private static string Shorten(string key) => key.Length > 64 ? key[..64] : key;
}
