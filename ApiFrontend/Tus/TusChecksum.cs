using System.Security.Cryptography;
using MediaService.ApiFrontend.Uploads;

namespace MediaService.ApiFrontend.Tus;

/// <summary>
/// A tus <c>Upload-Checksum</c> (<c>algorithm base64-digest</c>) over one request body, sent as a header or as an
/// HTTP trailer (checksum-trailer). The body counts only if the digest matches; otherwise it is discarded (460).
/// </summary>
public sealed class TusChecksum : IBodyChecksum, IDisposable
{
    /// <summary>The algorithms we verify, as advertised in <c>Tus-Checksum-Algorithm</c>.</summary>
    public const string Algorithms = "sha1,md5,sha256";

    private static readonly HashAlgorithmName[] Supported = [HashAlgorithmName.SHA1, HashAlgorithmName.MD5, HashAlgorithmName.SHA256];
    private readonly Dictionary<HashAlgorithmName, IncrementalHash> _hashes;
    private readonly HashAlgorithmName? _algorithm;
    private readonly byte[]? _expected;
    private readonly Func<string?>? _trailer;

    private TusChecksum(HashAlgorithmName? algorithm, byte[]? expected, Func<string?>? trailer)
    {
        _algorithm = algorithm;
        _expected = expected;
        _trailer = trailer;

        // A trailer names its algorithm only after the body: hash with every supported one until then.
        _hashes = (algorithm is { } known ? [known] : Supported).ToDictionary(a => a, IncrementalHash.CreateHash);
    }

    /// <summary>Parses <c>sha1 base64</c>; false for an unknown algorithm or a malformed digest (tus: 400).</summary>
    public static bool TryParse(string header, out HashAlgorithmName algorithm, out byte[] digest)
    {
        algorithm = default;
        digest = [];
        var parts = header.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2)
        {
            return false;
        }

        (algorithm, var size) = parts[0].ToLowerInvariant() switch
        {
            "sha1" => (HashAlgorithmName.SHA1, 20),
            "md5" => (HashAlgorithmName.MD5, 16),
            "sha256" => (HashAlgorithmName.SHA256, 32),
            _ => (default, 0),
        };
        var bytes = new byte[size + 3];
        if (size == 0 || !Convert.TryFromBase64String(parts[1], bytes, out var written) || written != size)
        {
            return false;
        }

        digest = bytes[..size];
        return true;
    }

    /// <summary>A checksum announced in the header.</summary>
    public static TusChecksum FromHeader(HashAlgorithmName algorithm, byte[] digest) => new(algorithm, digest, null);

    /// <summary>A checksum that arrives as a trailer, read once the body has been read to its end.</summary>
    public static TusChecksum FromTrailer(Func<string?> trailer) => new(null, null, trailer);

    /// <summary>Feeds bytes of the body.</summary>
    public void Append(byte[] buffer, int offset, int count)
    {
        foreach (var hash in _hashes.Values)
        {
            hash.AppendData(buffer, offset, count);
        }
    }

    /// <summary>True when the body's digest is the announced one. A missing or malformed trailer never matches.</summary>
    public bool Matches()
    {
        var (algorithm, expected) = (_algorithm, _expected);
        if (expected is null)
        {
            if (_trailer?.Invoke() is not { } trailer || !TryParse(trailer, out var named, out var digest))
            {
                return false;
            }

            (algorithm, expected) = (named, digest);
        }

        return algorithm is { } name && _hashes.TryGetValue(name, out var hash)
            && CryptographicOperations.FixedTimeEquals(expected, hash.GetCurrentHash());
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var hash in _hashes.Values)
        {
            hash.Dispose();
        }
    }
}
