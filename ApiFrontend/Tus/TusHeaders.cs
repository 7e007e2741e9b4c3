using System.Globalization;
using Microsoft.Extensions.Primitives;

namespace MediaService.ApiFrontend.Tus;

/// <summary>
/// The names of the tus and draft request headers, and the rules their values are read by, in one place: every
/// intent (and <see cref="TusRequest"/>) reads them through these, so a header means the same wherever it is sent.
/// </summary>
internal static class TusHeaders
{
    /// <summary>tus' protocol version of the request.</summary>
    public const string TusResumable = "Tus-Resumable";

    /// <summary>The IETF draft's interop version of the request.</summary>
    public const string DraftInteropVersion = "Upload-Draft-Interop-Version";

    /// <summary>Where an append starts.</summary>
    public const string UploadOffset = "Upload-Offset";

    /// <summary>The upload's whole length.</summary>
    public const string UploadLength = "Upload-Length";

    /// <summary>tus: the length is declared later.</summary>
    public const string UploadDeferLength = "Upload-Defer-Length";

    /// <summary>tus concatenation: <c>partial</c>, or <c>final;</c> and the partials' URLs.</summary>
    public const string UploadConcat = "Upload-Concat";

    /// <summary>tus: the upload's key-value pairs.</summary>
    public const string UploadMetadata = "Upload-Metadata";

    /// <summary>The draft: whether this request's content ends the upload.</summary>
    public const string UploadComplete = "Upload-Complete";

    /// <summary>tus checksum: <c>algorithm base64-digest</c>, as a header or a trailer.</summary>
    public const string UploadChecksum = "Upload-Checksum";

    /// <summary>
    /// A non-negative integer (Upload-Offset, Upload-Length): one field of 1 to 19 ASCII digits that fits a
    /// <see cref="long"/>. No sign, no whitespace, no list; a missing field is not one either.
    /// </summary>
    public static bool TryParseNonNegative(StringValues header, out long value)
    {
        value = 0;
        var text = header.ToString();
        return header.Count == 1 && text.Length is > 0 and <= 19 && text.All(char.IsAsciiDigit)
            && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>
    /// A Structured Fields Boolean (RFC 9651; Upload-Complete): <c>?1</c> or <c>?0</c>, surrounding whitespace
    /// aside. Null when the field is missing, sent more than once, or not a Boolean (which the draft says to ignore).
    /// </summary>
    public static bool? ParseBoolean(StringValues values) =>
        values.Count != 1 ? null : values.ToString().Trim() switch
        {
            "?1" => true,
            "?0" => false,
            _ => null,
        };

    /// <summary>
    /// The interop version a request names (<c>Upload-Draft-Interop-Version</c>), surrounding whitespace aside; null
    /// when it names none or more than one. An Integer (RFC 9651) is compared as sent: "08" is not "8".
    /// </summary>
    public static string? InteropVersion(StringValues values) => values.Count == 1 ? values.ToString().Trim() : null;

    /// <summary>Whether <c>Tus-Resumable</c> is exactly our version, sent once.</summary>
    public static bool SpeaksTus(StringValues values) => values == TusEndpoints.Version;

    /// <summary>Whether <c>Upload-Defer-Length</c> is exactly <c>1</c>, sent once (the only value tus defines).</summary>
    public static bool IsDeferral(StringValues values) => values == "1";
}
