using System.Security.Cryptography;
using System.Text;

namespace MediaService.DataPlane.Webhooks;

/// <summary>
/// The Standard Webhooks signature scheme: a delivery carries <c>webhook-id</c> (the event's id, the same on every
/// retry), <c>webhook-timestamp</c> (Unix seconds of this attempt) and <c>webhook-signature</c>: <c>v1,</c> and the
/// base64 of an HMAC-SHA256 of <c>{id}.{timestamp}.{body}</c> under the secret (the bytes after <c>whsec_</c>),
/// one such signature per secret that signs, separated by spaces (during a rotation, the new and the previous one).
/// </summary>
public static class WebhookSignature
{
    /// <summary>The prefix of a secret.</summary>
    public const string SecretPrefix = "whsec_";

    /// <summary>The <c>webhook-signature</c> value of a delivery signed by every one of <paramref name="secrets"/>.</summary>
    public static string Sign(IEnumerable<string> secrets, string id, long timestamp, ReadOnlySpan<byte> body)
    {
        var signed = Signed(id, timestamp, body);
        return string.Join(' ', secrets.Select(secret => "v1," + Convert.ToBase64String(HMACSHA256.HashData(Key(secret), signed))));
    }

    /// <summary>Whether <paramref name="header"/> holds a v1 signature of the delivery under <paramref name="secret"/>
    /// (compared in constant time), as a receiver checks it.</summary>
    public static bool Verify(string secret, string id, long timestamp, ReadOnlySpan<byte> body, string header)
    {
        var expected = HMACSHA256.HashData(Key(secret), Signed(id, timestamp, body));
        foreach (var part in header.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.StartsWith("v1,", StringComparison.Ordinal) && TryBase64(part[3..], out var given)
                && CryptographicOperations.FixedTimeEquals(expected, given))
            {
                return true;
            }
        }

        return false;
    }

    private static byte[] Key(string secret) =>
        Convert.FromBase64String(secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret[SecretPrefix.Length..] : secret);

    private static byte[] Signed(string id, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{id}.{timestamp}."));
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return signed;
    }

    private static bool TryBase64(string text, out byte[] bytes)
    {
        bytes = new byte[(text.Length * 3 / 4) + 3];
        if (Convert.TryFromBase64String(text, bytes, out var written))
        {
            bytes = bytes[..written];
            return true;
        }

        return false;
    }
}
