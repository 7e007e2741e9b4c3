namespace MediaService.ApiFrontend.Limits;

/// <summary>Request classes, each with a bucket per key owner.</summary>
public enum RequestClass
{
    /// <summary>Creating or changing items: uploads, tus creation, metadata patches, deletes, share links.</summary>
    Create,

    /// <summary>tus appends (PATCH /files/{id}).</summary>
    Append,

    /// <summary>Reading one item: metadata, content, renditions, tus HEAD.</summary>
    Read,

    /// <summary>GET /media.</summary>
    Search,

    /// <summary>/admin routes.</summary>
    Admin,
}
