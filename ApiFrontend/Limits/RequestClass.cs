using MediaService.ApiFrontend.Admin;
using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using MediaService.ApiFrontend.Http;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.Options;

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
