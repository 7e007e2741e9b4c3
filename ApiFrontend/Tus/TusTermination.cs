using MediaService.ApiFrontend.Http;
using MediaService.ApiFrontend.Media;
using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Http.HttpResults;
using static MediaService.ApiFrontend.Tus.TusResponses;

namespace MediaService.ApiFrontend.Tus;

/// <summary>DELETE of an upload (tus termination): the upload and its bytes go.</summary>
internal static class TusTermination
{
    internal static async Task<Results<NoContent, StatusCodeHttpResult, ProblemHttpResult>> DeleteAsync(long id, HttpContext context, IClusterClient cluster)
    {
        if (!MediaIds.IsValid(id))
        {
            return TypedResults.StatusCode(StatusCodes.Status404NotFound);
        }

        try
        {
            await cluster.GetGrain<IMediaItemGrain>(id).TerminateAsync();
            return TypedResults.NoContent();
        }
        catch (MediaException ex)
        {
            Problems.WriteRetryAfter(context, ex);
            return FromGrain(ex);
        }
    }
}
