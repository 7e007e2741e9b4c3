namespace MediaService.ApiFrontend.Http;

/// <summary>
/// A grain call that the cluster could not deliver or answer in time (a silo died and is not yet declared dead, or
/// the cluster is restarting) is answered 503 <c>cluster-unavailable</c> with <c>Retry-After</c>, not 500: nothing
/// was lost, and the same request succeeds once the cluster has settled. tus clients retry it by themselves.
/// </summary>
internal sealed partial class ClusterExceptionHandler(ILogger<ClusterExceptionHandler> logger) : Microsoft.AspNetCore.Diagnostics.IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not (OrleansException or TimeoutException) || context.Response.HasStarted)
        {
            return false;
        }

        LogUnavailable(logger, context.Request.Method, context.Request.Path, exception.GetType().Name, exception.Message);
        context.Response.Headers.RetryAfter = "1";
        await Problems.Create(Problems.ClusterUnavailable, StatusCodes.Status503ServiceUnavailable, "Cluster unavailable",
            "The cluster could not handle the request just now; repeat it in a moment.").ExecuteAsync(context);
        return true;
    }

    [LoggerMessage(EventId = 3501, Level = LogLevel.Warning, Message = "{Method} {Path}: cluster unavailable ({Error}: {Message}); answered 503")]
    private static partial void LogUnavailable(ILogger logger, string method, string path, string error, string message);
}
