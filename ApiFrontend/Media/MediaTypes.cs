using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Net.Http.Headers;

namespace MediaService.ApiFrontend.Media;

/// <summary>The media type a client declares for an item: a hint only (processing sniffs the content).</summary>
public static class MediaTypes
{
    private static readonly FileExtensionContentTypeProvider ByExtension = new();

    /// <summary>
    /// The declared type when it parses as a concrete media type other than octet-stream or a form, else the
    /// type the file name's extension suggests, else <c>application/octet-stream</c>.
    /// </summary>
    public static string Declared(string? declared, string? fileName)
    {
        if (!string.IsNullOrWhiteSpace(declared)
            && MediaTypeHeaderValue.TryParse(declared, out var parsed)
            && parsed.MediaType.Value is { } mediaType
            && !parsed.MatchesAllTypes && !parsed.MatchesAllSubTypes
            && !mediaType.Equals("application/octet-stream", StringComparison.OrdinalIgnoreCase)
            && !mediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            return mediaType.ToLowerInvariant();
        }

        return fileName is not null && ByExtension.TryGetContentType(fileName, out var guessed) ? guessed : "application/octet-stream";
    }
}
