using Microsoft.Net.Http.Headers;

namespace MediaService.ApiFrontend.Media;

/// <summary>
/// Picks the form of a rendition asked for without an extension (<c>/renditions/thumb</c>) from the request's
/// <c>Accept</c>: AVIF, then WebP, then JPEG, among the forms the item has. A form the client names is preferred to
/// one only a wildcard allows, at the same quality; when the client names none (<c>*/*</c>, <c>image/*</c>, or no
/// header at all) JPEG is chosen, which every client decodes. Null when no form is acceptable (406).
/// </summary>
public static class RenditionNegotiation
{
    /// <summary>The forms in order of preference: extension and media type.</summary>
    public static readonly IReadOnlyList<(string Extension, string MediaType)> Forms =
        [("avif", "image/avif"), ("webp", "image/webp"), ("jpg", "image/jpeg")];

    /// <summary>True when <paramref name="name"/> asks for negotiation (no extension).</summary>
    public static bool IsNegotiated(string name) => !name.Contains('.', StringComparison.Ordinal);

    /// <summary>The chosen rendition's name (<c>thumb.avif</c>), or null when none of <paramref name="available"/> is acceptable.</summary>
    public static string? Choose(string name, IEnumerable<string> available, string? accept)
    {
        var present = available.ToHashSet(StringComparer.Ordinal);
        var candidates = Forms.Select((form, preference) => (Name: $"{name}.{form.Extension}", form.MediaType, Preference: preference))
            .Where(c => present.Contains(c.Name)).ToList();
        if (candidates.Count == 0)
        {
            return null;
        }

        // An Accept that does not parse is no preference.
        IList<MediaTypeHeaderValue> ranges = !string.IsNullOrWhiteSpace(accept) && MediaTypeHeaderValue.TryParseList([accept], out var parsed) ? parsed : [];

        var scored = candidates.Select(c =>
        {
            // The most specific range that matches decides the quality (RFC 9110, 12.5.1).
            var exact = ranges.Where(r => r.MediaType.Equals(c.MediaType, StringComparison.OrdinalIgnoreCase)).ToList();
            var type = ranges.Where(r => r.MediaType.Equals("image/*", StringComparison.OrdinalIgnoreCase)).ToList();
            var any = ranges.Where(r => r.MediaType.Equals("*/*", StringComparison.OrdinalIgnoreCase)).ToList();
            var deciding = exact.Count > 0 ? exact : type.Count > 0 ? type : any;
            var quality = ranges.Count == 0 ? 1.0 : deciding.Count == 0 ? 0.0 : deciding.Max(r => r.Quality ?? 1.0);
            return (c.Name, c.Preference, Quality: quality, Named: exact.Count > 0);
        }).Where(c => c.Quality > 0).ToList();
        if (scored.Count == 0)
        {
            return null;
        }

        if (!scored.Any(c => c.Named) && scored.FirstOrDefault(c => c.Name.EndsWith(".jpg", StringComparison.Ordinal)) is { Name: not null } jpeg)
        {
            return jpeg.Name;
        }

        return scored.OrderByDescending(c => c.Quality).ThenByDescending(c => c.Named).ThenBy(c => c.Preference).First().Name;
    }
}
