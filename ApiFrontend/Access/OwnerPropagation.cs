using MediaService.Grains.Interfaces;
using System.Security.Claims;

namespace MediaService.ApiFrontend.Access;

/// <summary>Carries the authenticated owner into every grain call of the request.</summary>
public static class OwnerPropagation
{
    /// <summary>The owner of the request's key (the caller's identity).</summary>
    public static string Owner(this ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.NameIdentifier) ?? string.Empty;

    /// <summary>After authentication: an authenticated request's grain calls carry its owner.</summary>
    public static IApplicationBuilder UseOwnerPropagation(this IApplicationBuilder app) => app.Use(static (context, next) =>
    {
        if (context.User.Identity?.IsAuthenticated == true)
        {
            CallerContext.Set(context.User.Owner());
        }

        return next(context);
    });
}
