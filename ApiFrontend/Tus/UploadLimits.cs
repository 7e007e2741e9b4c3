using System.Globalization;

namespace MediaService.ApiFrontend.Tus;

/// <summary>The limits an upload resource holds to, as the drafts' <c>Upload-Limit</c> names them.</summary>
/// <param name="MaxSize">The largest upload, in bytes (<c>Uploads:MaxUploadBytes</c>).</param>
/// <param name="MaxAppendSize">The most one request may carry, in bytes (<c>Uploads:MaxAppendBytes</c>).</param>
public sealed record UploadLimits(long MaxSize, long MaxAppendSize)
{
    /// <summary>From the upload options.</summary>
    public static UploadLimits Of(DataPlane.UploadOptions options) => new(options.MaxUploadBytes, Math.Min(options.MaxAppendBytes, options.MaxUploadBytes));

    /// <summary>The size members of the Structured Fields Dictionary (RFC 9651). Appends of any size, even empty, are
    /// taken (the writer buffers what is below an S3 part), so there is no min-append-size; nor a min-size.</summary>
    public string Dictionary() => string.Create(CultureInfo.InvariantCulture, $"max-size={MaxSize}, max-append-size={MaxAppendSize}");
}
