namespace MediaService.ApiFrontend.Tus;

/// <summary>
/// Which resumable-upload protocol a request speaks on <c>/files/</c>: tus 1.0.0 (<c>Tus-Resumable</c>), or the
/// IETF draft "Resumable Uploads for HTTP" as tus-js-client 4.x speaks it (<c>Upload-Draft-Interop-Version</c> 5
/// for draft-03, 6 for draft-05). Both share the endpoints, the items and the writer; only headers differ.
/// </summary>
public static class ResumableProtocol
{
    /// <summary>The interop versions we answer in.</summary>
    public static readonly string[] DraftVersions = ["5", "6"];

    private const string DraftKey = "media.ietf-draft";

    /// <summary>The request's draft interop version, when it speaks the IETF draft.</summary>
    public static string? DraftVersion(HttpContext context) => context.Items[DraftKey] as string;

    /// <summary>Remembers the request's protocol; false when it speaks neither one we support.</summary>
    public static bool TryClassify(HttpContext context)
    {
        var draft = context.Request.Headers["Upload-Draft-Interop-Version"].ToString();
        if (draft.Length > 0)
        {
            if (!DraftVersions.Contains(draft))
            {
                return false;
            }

            context.Items[DraftKey] = draft;
            context.Response.Headers["Upload-Draft-Interop-Version"] = draft;
            return true;
        }

        return context.Request.Headers["Tus-Resumable"] == TusEndpoints.Version;
    }

    /// <summary>The draft's <c>Upload-Complete</c> structured boolean: true for <c>?1</c>, false for <c>?0</c>, null otherwise.</summary>
    public static bool? UploadComplete(HttpRequest request) => request.Headers["Upload-Complete"].ToString() switch
    {
        "?1" => true,
        "?0" => false,
        _ => null,
    };

    /// <summary>True when the body's content type fits the protocol: tus needs application/offset+octet-stream;
    /// draft-05 application/partial-upload (or the tus type); draft-03 sends none.</summary>
    public static bool HasChunkContentType(HttpContext context)
    {
        var type = context.Request.ContentType?.Split(';')[0].Trim();
        var isOffset = string.Equals(type, TusEndpoints.OffsetContentType, StringComparison.OrdinalIgnoreCase);
        return DraftVersion(context) switch
        {
            null => isOffset,
            "6" => isOffset || string.Equals(type, "application/partial-upload", StringComparison.OrdinalIgnoreCase),
            _ => true,
        };
    }
}
