using System.Collections.Immutable;
using MediaService.Grains.Interfaces;

namespace MediaService.ApiFrontend.Tus;

/// <summary>
/// The tus and draft headers of one request, parsed by <see cref="TusHeaders"/>' rules. Parsing refuses nothing: it
/// says what was sent and whether it was well formed, and each intent checks what it needs in its own order (so which
/// fault a request with several is answered for stays the intent's decision).
/// </summary>
internal sealed record TusRequest
{
    /// <summary>Whether <c>Upload-Offset</c> was sent.</summary>
    public bool HasOffset { get; init; }

    /// <summary><c>Upload-Offset</c>, or null when it is missing or not a non-negative integer.</summary>
    public long? Offset { get; init; }

    /// <summary>Whether <c>Upload-Length</c> was sent.</summary>
    public bool HasLength { get; init; }

    /// <summary><c>Upload-Length</c>, or null when it is missing or not a non-negative integer.</summary>
    public long? Length { get; init; }

    /// <summary>Whether <c>Upload-Defer-Length</c> was sent (with any value).</summary>
    public bool HasDeferLength { get; init; }

    /// <summary>Whether <c>Upload-Defer-Length</c> is the one value tus defines, <c>1</c>.</summary>
    public bool DefersLength { get; init; }

    /// <summary><c>Upload-Concat</c>: <see cref="ConcatKind.None"/> when it was not sent, null when it is malformed.</summary>
    public ConcatKind? Concat { get; init; }

    /// <summary>The partial uploads a final one (<c>Upload-Concat: final;...</c>) lists, in order.</summary>
    public ImmutableArray<long> Partials { get; init; } = [];

    /// <summary><c>Upload-Metadata</c> as sent ("" when missing): its pairs are <see cref="TusMetadata"/>'s to parse, under
    /// the configured size limit.</summary>
    public string Metadata { get; init; } = "";

    /// <summary>Whether <c>Upload-Complete</c> was sent.</summary>
    public bool HasComplete { get; init; }

    /// <summary><c>Upload-Complete</c> as a Boolean, or null when it is missing or not one.</summary>
    public bool? Complete { get; init; }

    /// <summary>The <c>Upload-Checksum</c> header as sent, or null when there is none (<see cref="TusChecksum"/> parses it).</summary>
    public string? Checksum { get; init; }

    /// <summary>Whether the request announces <c>Upload-Checksum</c> as a trailer (checksum-trailer).</summary>
    public bool ChecksumInTrailer { get; init; }

    /// <summary>Reads the request's tus and draft headers.</summary>
    public static TusRequest Parse(HttpRequest request)
    {
        var headers = request.Headers;
        var offset = headers[TusHeaders.UploadOffset];
        var hasLength = headers.TryGetValue(TusHeaders.UploadLength, out var length);
        var hasDeferLength = headers.TryGetValue(TusHeaders.UploadDeferLength, out var deferLength);
        ConcatKind? concat = ConcatKind.None;
        var partials = ImmutableArray<long>.Empty;
        if (headers.TryGetValue(TusHeaders.UploadConcat, out var concatHeader))
        {
            if (concatHeader == "partial")
            {
                concat = ConcatKind.Partial;
            }
            else if (TusConcatenation.TryParseFinal(concatHeader.ToString(), out partials))
            {
                concat = ConcatKind.Final;
            }
            else
            {
                concat = null;
            }
        }

        return new TusRequest
        {
            HasOffset = headers.ContainsKey(TusHeaders.UploadOffset),
            Offset = TusHeaders.TryParseNonNegative(offset, out var parsedOffset) ? parsedOffset : null,
            HasLength = hasLength,
            Length = hasLength && TusHeaders.TryParseNonNegative(length, out var parsedLength) ? parsedLength : null,
            HasDeferLength = hasDeferLength,
            DefersLength = hasDeferLength && TusHeaders.IsDeferral(deferLength),
            Concat = concat,
            Partials = concat == ConcatKind.Final ? partials : [],
            Metadata = headers[TusHeaders.UploadMetadata].ToString(),
            HasComplete = headers.ContainsKey(TusHeaders.UploadComplete),
            Complete = TusHeaders.ParseBoolean(headers[TusHeaders.UploadComplete]),
            Checksum = headers.TryGetValue(TusHeaders.UploadChecksum, out var checksum) ? checksum.ToString() : null,
            ChecksumInTrailer = headers.Trailer.Any(t => t?.Contains(TusHeaders.UploadChecksum, StringComparison.OrdinalIgnoreCase) == true),
        };
    }
}
