using System.Globalization;
using MediaService.ApiFrontend.Http;
using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MediaService.ApiFrontend.Tus;

/// <summary>What every intent answers the same way: tus' bad request, a grain's refusal, the upload's URL and expiry,
/// and the request's clock and logger.</summary>
internal static class TusResponses
{
    // A grain's refusal as tus answers it: the catalogue's entry, bare where the tus spec names only a status. Metadata
    // rules and If-Match do not exist in tus (and 412 means an unsupported Tus-Resumable there): a plain bad request.
    internal static Results<NoContent, StatusCodeHttpResult, ProblemHttpResult> FromGrain(MediaException exception) =>
        exception.Code is MediaErrorCode.InvalidInput or MediaErrorCode.PreconditionFailed
            ? Bad(exception.Message)
            : ApiErrors.For(exception.Code) is { BareForTus: true } bare
                ? TypedResults.StatusCode(bare.Status)
                : ApiErrors.For(exception.Code).Problem(exception.Message);

    internal static ProblemHttpResult Bad(string detail) =>
        ApiErrors.BadTusRequest.Problem(detail);

    // Relative, or from Http:PublicBaseUrl: never from the request's Host, which the client chooses.
    internal static string LocationOf(HttpRequest request, long id) =>
        request.HttpContext.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<HttpEdgeOptions>>().Value.UploadUrl(request, id);

    internal static void WriteExpires(HttpContext context, DateTimeOffset? expiresAt)
    {
        if (expiresAt is { } expires)
        {
            context.Response.Headers["Upload-Expires"] = expires.ToString("R", CultureInfo.InvariantCulture);
        }
    }

    internal static DateTimeOffset Now(HttpContext context) => context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();

    internal static ILogger Logger(HttpContext context) =>
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TusEndpoints));
}
