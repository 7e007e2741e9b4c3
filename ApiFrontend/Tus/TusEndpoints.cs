using MediaService.ApiFrontend.Http;
using MediaService.Grains.Interfaces;

namespace MediaService.ApiFrontend.Tus;

/// <summary>
/// tus 1.0.0 at <c>/files/</c>: core, creation, creation-with-upload, creation-defer-length, expiration and
/// termination. A tus upload is a media item: its id is the item's id and <c>/media/{id}</c> serves it. Any
/// frontend serves any request: the item's grain orders the writers, so no sticky sessions are needed.
/// This class maps the routes and checks the version; each intent has its own class (<see cref="TusCapabilities"/>,
/// <see cref="TusCreation"/>, <see cref="TusOffset"/>, <see cref="TusAppend"/>, <see cref="TusTermination"/>).
/// </summary>
public static class TusEndpoints
{
    public const string Version = "1.0.0";
    public const string Extensions = "creation,creation-with-upload,creation-defer-length,expiration,checksum,checksum-trailer,termination,concatenation,concatenation-unfinished";

    /// <summary>tus: the checksum did not match; the chunk was discarded.</summary>
    public const int ChecksumMismatch = ApiErrors.ChecksumMismatchStatus;
    public const string OffsetContentType = "application/offset+octet-stream";

    /// <summary>The headers a browser client must be able to read (CORS).</summary>
    public static readonly string[] ExposedHeaders =
    [
        "Location", "Upload-Offset", "Upload-Length", "Upload-Defer-Length", "Upload-Metadata", "Upload-Expires", "Upload-Concat",
        "Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size",
        "Upload-Complete", "Upload-Limit", "Upload-Draft-Interop-Version", "Accept-Patch",
    ];

    /// <summary>Maps <c>/files</c>.</summary>
    public static IEndpointRouteBuilder MapTus(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/files").WithTags("tus").AddEndpointFilter(RequireTusVersion);
        // Capabilities are public: a client may discover them before it has a key.
        group.MapMethods("/", [HttpMethods.Options], TusCapabilities.Options).WithName("TusOptions").WithSummary("tus capabilities.").AllowAnonymous();
        group.MapMethods("/{id:long}", [HttpMethods.Options], TusCapabilities.Options).WithName("TusUploadOptions").WithSummary("tus capabilities (at an upload's URL).")
            .AllowAnonymous();
        group.MapPost("/", TusCreation.CreateAsync).WithName("TusCreate").WithSummary("tus creation (with upload, deferred length).")
            .Accepts<Stream>(OffsetContentType, "*/*")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).Produces(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).Produces(StatusCodes.Status415UnsupportedMediaType);
        group.MapMethods("/{id:long}", [HttpMethods.Head], TusOffset.HeadAsync).WithName("TusHead").WithSummary("tus offset retrieval.")
            .Produces(StatusCodes.Status410Gone).Produces(StatusCodes.Status412PreconditionFailed).Produces(StatusCodes.Status423Locked);
        group.MapGet("/{id:long}", TusOffset.GetOffsetAsync).WithName("ResumableOffsetByGet")
            .WithSummary("IETF draft (interop version 8) offset retrieval by GET, as by HEAD.")
            .Produces(StatusCodes.Status410Gone).Produces(StatusCodes.Status412PreconditionFailed).Produces(StatusCodes.Status423Locked);
        group.MapPatch("/{id:long}", TusAppend.PatchAsync).WithName("TusPatch").WithSummary("tus append.").Accepts<Stream>(OffsetContentType, "*/*")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status409Conflict)
            .Produces(StatusCodes.Status410Gone).Produces(StatusCodes.Status412PreconditionFailed).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .Produces(StatusCodes.Status415UnsupportedMediaType).ProducesProblem(ChecksumMismatch);
        group.MapDelete("/{id:long}", TusTermination.DeleteAsync).WithName("TusTerminate").WithSummary("tus termination.")
            .ProducesProblem(StatusCodes.Status409Conflict).Produces(StatusCodes.Status410Gone).Produces(StatusCodes.Status412PreconditionFailed);
        return app;
    }

    /// <summary>Honours <c>X-HTTP-Method-Override</c> on <c>/files</c> (for clients behind proxies that only pass GET and POST).</summary>
    public static IApplicationBuilder UseTusMethodOverride(this IApplicationBuilder app) =>
        app.Use(static (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/files")
                && context.Request.Headers.TryGetValue("X-HTTP-Method-Override", out var method)
                && method.ToString() is { Length: > 0 } overridden)
            {
                context.Request.Method = overridden.ToUpperInvariant();
            }

            return next(context);
        });

    // Every request but OPTIONS must speak our version: otherwise 412 with the versions we speak, untouched.
    private static async ValueTask<object?> RequireTusVersion(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var http = invocation.HttpContext;
        var known = ResumableProtocol.TryClassify(http);
        if (!HttpMethods.IsOptions(http.Request.Method) && !known)
        {
            http.Response.Headers["Tus-Version"] = Version;
            if (http.Request.Headers.ContainsKey(TusHeaders.DraftInteropVersion))
            {
                return ApiErrors.UnsupportedInteropVersion.Problem($"This server speaks Upload-Draft-Interop-Version {string.Join(", ", ResumableProtocol.DraftVersions)} of the IETF draft, and tus {Version}.");
            }

            return TypedResults.StatusCode(StatusCodes.Status412PreconditionFailed);
        }

        return await next(invocation);
    }

    /// <summary>Finishes (or waits for) the assembly of a completing item, for at most <paramref name="wait"/>; null when it
    /// did not end in time.</summary>
    internal static async Task<MediaItemView?> FinishCompletionAsync(IMediaItemGrain grain, TimeSpan wait)
    {
        try
        {
            return await grain.FinishCompletionAsync().WaitAsync(wait);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }
}
