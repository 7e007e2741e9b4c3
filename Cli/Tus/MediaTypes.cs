namespace MediaService.Cli.Tus;

/// <summary>The declared type sent as tus <c>filetype</c> (a hint: the service reads the real type from the bytes).</summary>
public static class MediaTypes
{
    private static readonly Dictionary<string, string> ByExtension = new(StringComparer.OrdinalIgnoreCase)
    {
        [".jpg"] = "image/jpeg", [".jpeg"] = "image/jpeg", [".png"] = "image/png", [".gif"] = "image/gif",
        [".webp"] = "image/webp", [".bmp"] = "image/bmp", [".tif"] = "image/tiff", [".tiff"] = "image/tiff",
        [".heic"] = "image/heic", [".heif"] = "image/heif", [".avif"] = "image/avif",
        [".mp4"] = "video/mp4", [".m4v"] = "video/mp4", [".mov"] = "video/quicktime", [".webm"] = "video/webm", [".mkv"] = "video/x-matroska",
        [".mp3"] = "audio/mpeg", [".m4a"] = "audio/mp4", [".aac"] = "audio/aac", [".wav"] = "audio/wav", [".flac"] = "audio/flac",
        [".ogg"] = "audio/ogg", [".opus"] = "audio/ogg",
    };

    /// <summary>The type for a file name's extension, or null (the service then goes by the name).</summary>
    public static string? Of(string path) => ByExtension.GetValueOrDefault(Path.GetExtension(path));
}
