using MediaService.DataPlane;
using MediaService.Grains.Interfaces;

namespace MediaService.ApiFrontend.Http;

/// <summary>
/// Failures that mean "not now" rather than "wrong" are answered 503 with <c>Retry-After</c>, never 500: nothing was
/// lost, and the same request succeeds once the fault has passed (tus clients retry it by themselves).
/// <list type="bullet">
/// <item>A grain call that the cluster could not deliver or answer in time (a silo died and is not yet declared dead,
/// or the cluster is restarting): <c>cluster-unavailable</c>.</item>
/// <item>The database or the object store did not answer, wherever that surfaced (a grain's refusal, the key lookup,
/// the search index, the quota check): <c>storage-unavailable</c>.</item>
/// </list>
/// </summary>
internal sealed partial class ClusterExceptionHandler(ILogger<ClusterExceptionHandler> logger) : Microsoft.AspNetCore.Diagnostics.IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (context.Response.HasStarted)
        {
            return false;
        }

        if (StorageRetryAfter(exception) is { } retryAfter)
        {
            LogStorageUnavailable(logger, context.Request.Method, context.Request.Path, exception.GetType().Name, exception.Message);
            context.Response.Headers.RetryAfter = Math.Max(1, Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await ApiErrors.StorageUnavailable.Problem("The database or the object store did not answer; nothing was changed. Retry later.").ExecuteAsync(context);
            return true;
        }

        if (!Unreachable(exception))
        {
            return false;
        }

        LogUnavailable(logger, context.Request.Method, context.Request.Path, exception.GetType().Name, exception.Message);
        context.Response.Headers.RetryAfter = "1";
        await ApiErrors.ClusterUnavailable.Problem("The cluster could not handle the request just now; repeat it in a moment.").ExecuteAsync(context);
        return true;
    }

    // A grain call the cluster could not deliver or answer in time, possibly wrapped (an upload that failed on it).
    private static bool Unreachable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is OrleansException or TimeoutException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>When <paramref name="exception"/> says the database or the object store did not answer: when to retry.</summary>
    internal static TimeSpan? StorageRetryAfter(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case MediaException { Code: MediaErrorCode.Unavailable } media:
                    return media.RetryAfter ?? TimeSpan.FromSeconds(5);
                case ObjectStoreUnavailableException store:
                    return store.RetryAfter;
            }
        }

        return Resilience.IsPostgresUnavailable(exception) ? TimeSpan.FromSeconds(5) : null;
    }

    [LoggerMessage(EventId = LogEvents.Edge + 1, Level = LogLevel.Warning, Message = "{Method} {Path}: cluster unavailable ({Error}: {Message}); answered 503")]
    private static partial void LogUnavailable(ILogger logger, string method, string path, string error, string message);

    [LoggerMessage(EventId = LogEvents.Edge + 2, Level = LogLevel.Warning, Message = "{Method} {Path}: storage unavailable ({Error}: {Message}); answered 503")]
    private static partial void LogStorageUnavailable(ILogger logger, string method, string path, string error, string message);
}
