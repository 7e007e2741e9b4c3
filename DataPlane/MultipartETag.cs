using System.Globalization;
using System.Security.Cryptography;

namespace MediaService.DataPlane;

/// <summary>
/// The ETag S3 gives an object assembled from parts: the MD5 of the parts' binary MD5s, then <c>-</c> and the part
/// count. Lets the owner of an upload check that the object in the store is the one its recorded parts make, when a
/// completion's answer was lost. Stores that give another kind of ETag (s3rver: the MD5 of the whole object) cannot be
/// checked this way.
/// </summary>
public static class MultipartETag
{
    /// <summary>The multipart ETag of these parts (unquoted, lower case), or null when a part's ETag is not a plain MD5.</summary>
    public static string? Compute(IReadOnlyList<string> partETags)
    {
        var digests = new byte[partETags.Count * 16];
        for (var i = 0; i < partETags.Count; i++)
        {
            var hex = partETags[i].Trim('"');
            if (hex.Length != 32 || !hex.All(Uri.IsHexDigit))
            {
                return null;
            }

            Convert.FromHexString(hex).CopyTo(digests, i * 16);
        }

        return $"{Convert.ToHexStringLower(MD5.HashData(digests))}-{partETags.Count.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>
    /// True when <paramref name="objectETag"/> is the multipart ETag of these parts, false when it is a multipart ETag of
    /// other parts, and null when it cannot tell (no ETag, or one of another kind).
    /// </summary>
    public static bool? Matches(string? objectETag, IReadOnlyList<string> partETags)
    {
        var etag = objectETag?.Trim('"');
        if (etag is null || !etag.Contains('-', StringComparison.Ordinal))
        {
            return null;
        }

        return Compute(partETags) is { } expected ? string.Equals(etag, expected, StringComparison.OrdinalIgnoreCase) : null;
    }
}
