using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace MediaService.ApiFrontend.App;

/// <summary>
/// The upload web app at <c>/app/</c>: its pages (web/app) and Uppy's bundle (web/node_modules/uppy/dist, under
/// <c>/app/vendor/uppy/</c>), copied into the frontend's output by the build. Served ahead of authentication (the pages
/// need no key; the API calls they make do), with a strict Content-Security-Policy, types from a fixed table (the
/// service sends <c>nosniff</c>) and revalidated caching (ETag, <c>no-cache</c>).
/// </summary>
public static partial class WebApp
{
    /// <summary>Where the app is served.</summary>
    public const string Path = "/app";

    /// <summary>The policy of every answer under <c>/app</c>: scripts, styles and connections of this origin only, images
    /// and media also from blob: URLs (previews, renditions read with the key), no frames, no forms elsewhere.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
        + "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>The folder of the app in the build output.</summary>
    public static string Root => System.IO.Path.Combine(AppContext.BaseDirectory, "app");

    /// <summary>Serves <c>/app/</c> before routing, authentication and the per-address limits (static files cost nothing
    /// to serve); <c>/app</c> is redirected to <c>/app/</c>, so that the page's relative URLs resolve.</summary>
    public static IApplicationBuilder UseWebApp(this IApplicationBuilder app)
    {
        var root = Root;
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WebApp));
        if (!File.Exists(System.IO.Path.Combine(root, "vendor", "uppy", "uppy.min.mjs")))
        {
            LogMissing(logger, root);
        }

        var types = new FileExtensionContentTypeProvider(new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            [".html"] = "text/html; charset=utf-8",
            [".js"] = "text/javascript; charset=utf-8",
            [".mjs"] = "text/javascript; charset=utf-8",
            [".css"] = "text/css; charset=utf-8",
            [".map"] = "application/json",
            [".svg"] = "image/svg+xml",
            [".png"] = "image/png",
            [".ico"] = "image/x-icon",
        });
        app.Map(Path, branch =>
        {
            branch.Use(static (context, next) =>
            {
                if (context.Request.PathBase == Path && !context.Request.Path.HasValue)
                {
                    context.Response.Redirect($"{Path}/{context.Request.QueryString}");
                    return Task.CompletedTask;
                }

                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers["Referrer-Policy"] = "no-referrer";
                headers.XFrameOptions = "DENY";
                headers["Cross-Origin-Opener-Policy"] = "same-origin";
                return next(context);
            });
            if (Directory.Exists(root))
            {
                var files = new PhysicalFileProvider(root);
                branch.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
                branch.UseStaticFiles(new StaticFileOptions
                {
                    FileProvider = files,
                    ContentTypeProvider = types,
                    ServeUnknownFileTypes = false,
                    OnPrepareResponse = static file => file.Context.Response.Headers.CacheControl = "no-cache",
                });
            }

            branch.Run(static context => Http.ApiErrors.WebAppFileNotFound.Problem("No such file of the web app.").ExecuteAsync(context));
        });
        return app;
    }

    [LoggerMessage(EventId = LogEvents.WebApp + 1, Level = LogLevel.Warning,
        Message = "The web app's files are missing under {Root} (run web/install.sh, then build): /app/ will not work")]
    private static partial void LogMissing(ILogger logger, string root);
}
