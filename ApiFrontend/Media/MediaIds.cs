using System.Buffers.Binary;
using System.Security.Cryptography;

namespace MediaService.ApiFrontend.Media;

/// <summary>
/// Public media ids: uniformly random in [1, 2^53), so JavaScript reads them exactly, no id reveals
/// another, and nothing about creation order leaks. Uniqueness is the grain's to decide.
/// </summary>
public static class MediaIds
{
    /// <summary>The largest id (2^53 - 1, JavaScript's largest exact integer).</summary>
    public const long MaxId = (1L << 53) - 1;

    /// <summary>A fresh random id from a cryptographic generator.</summary>
    public static long NewId()
    {
        Span<byte> bytes = stackalloc byte[8];
        while (true)
        {
            RandomNumberGenerator.Fill(bytes);
            var id = (long)(BinaryPrimitives.ReadUInt64LittleEndian(bytes) & (ulong)MaxId);
            if (id != 0)
            {
                return id;
            }
        }
    }

    /// <summary>True when <paramref name="id"/> can name an item.</summary>
    public static bool IsValid(long id) => id is > 0 and <= MaxId;
}
