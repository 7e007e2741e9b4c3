using System.Text.Json.Serialization;
using MediaService.ApiFrontend.App;
using MediaService.ApiFrontend.Access;
using MediaService.ApiFrontend.Limits;
using MediaService.ApiFrontend.Admin;
using MediaService.ApiFrontend.Health;
using MediaService.ApiFrontend.Http;
using MediaService.ApiFrontend.Media;
using MediaService.ApiFrontend.OpenApi;
using MediaService.ApiFrontend.Tus;
using MediaService.ApiFrontend.Uploads;
using MediaService.DataPlane;
using MediaService.DataPlane.Telemetry;
using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Scalar.AspNetCore;

namespace MediaService.ApiFrontend;

/// <summary>The frontend's wiring, kept out of Program.cs so that it reads as a table of contents.</summary>
public static class FrontendSetup
{
    /// <summary>Services: Orleans client on PostgreSQL membership, the S3 data plane, health, OpenAPI.</summary>
    public static WebApplicationBuilder AddMediaFrontend(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var connectionString = configuration.GetConnectionString(PostgresOptions.ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{PostgresOptions.ConnectionStringName} is not set: the frontend finds silos in PostgreSQL.");
        }

        builder.UseOrleansClient(client =>
        {
            client.UseAdoNetClustering(options =>
            {
                options.Invariant = PostgresOptions.Invariant;
                options.ConnectionString = connectionString;
            });
            client.Configure<ClusterOptions>(configuration.GetSection("Orleans"));
            // A call to a silo that died unannounced is answered (503 cluster-unavailable, then retried by the client)
            // after this, not after Orleans' 30 s; calls that may take long (an assembly) carry their own timeout.
            client.Configure<ClientMessagingOptions>(options => options.ResponseTimeout = TimeSpan.FromSeconds(10));
            client.Configure<ClientMessagingOptions>(configuration.GetSection("Orleans:Messaging"));
            client.AddActivityPropagation();

            // The frontend may start before any silo: keep trying rather than exit.
            client.UseConnectionRetryFilter(async (_, ct) =>
            {
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
                return true;
            });
        });

        builder.Services.AddMediaDataPlane(configuration);
        builder.Services.AddSingleton(sp => new DataPlane.Sharding.MediaServiceId(
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<ClusterOptions>>().Value.ServiceId));
        builder.Services.AddMediaTelemetry(configuration, "media-frontend");
        builder.Services.AddOptions<MetadataOptions>().Bind(configuration.GetSection(MetadataOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<UploadWriter>();
        builder.Services.AddSingleton<MediaIngest>();
        builder.Services.AddSingleton<TusConcatenation>();
        builder.Services.AddOptions<TusOptions>().Bind(configuration.GetSection(TusOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<HttpEdgeOptions>().Bind(configuration.GetSection(HttpEdgeOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<CorsSettings>().Bind(configuration.GetSection(CorsSettings.Section)).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy =>
        {
            var origins = configuration.GetSection(CorsSettings.Section).Get<CorsSettings>()?.AllowedOrigins ?? [];
            policy.WithOrigins(origins)
                .AllowAnyHeader()
                .WithMethods("GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS")
                .WithExposedHeaders([.. TusEndpoints.ExposedHeaders, "ETag", "Content-Range", "Accept-Ranges", "Retry-After"]);
        }));
        builder.Services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ServiceSecrets>();
        builder.Services.TryAddSingleton<ISecretSource>(sp => sp.GetRequiredService<ServiceSecrets>());
        builder.Services.AddHostedService<SecretWarmup>();
        builder.Services.AddSingleton<MediaIdIssuer>();
        builder.Services.AddSingleton<ApiKeys>();
        builder.Services.AddSingleton<ShareLinks>();
        builder.Services.AddSingleton<UploadLinks>();
        builder.Services.AddOptions<DataPlane.Webhooks.WebhookOptions>().Bind(configuration.GetSection(DataPlane.Webhooks.WebhookOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<Webhooks.WebhookStore>();
        builder.Services.AddSingleton<Webhooks.WebhookDeliveryLog>();
        builder.Services.AddOptions<QuotaOptions>().Bind(configuration.GetSection(QuotaOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<Quotas>();
        builder.Services.AddOptions<RateLimitOptions>().Bind(configuration.GetSection(RateLimitOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ClusterRateLimiter>();
        builder.Services.AddSingleton<AddressThrottle>();
        builder.Services.AddHostedService<KeyBootstrap>();
        builder.Services.AddMediaAuthentication(configuration);
        builder.Services.AddAuthorization(options =>
        {
            // Every route needs a key unless it says otherwise (health, the OpenAPI document, tus capabilities).
            options.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
            options.AddPolicy(AdminEndpoints.Policy, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiKeyAuthenticationHandler.AdminClaim, "true"));
        });
        builder.Services.AddMediaHealthChecks(configuration);
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = ApiErrors.FillFrameworkProblem);
        builder.Services.AddExceptionHandler<ClusterExceptionHandler>();
        builder.Services.AddOpenApi(options => options.AddMediaDocument());
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull);
        return builder;
    }

    /// <summary>Pipeline and routes.</summary>
    public static WebApplication UseMediaFrontend(this WebApplication app)
    {
        app.Use(static (context, next) =>
        {
            // Never let a browser guess a type: an uploaded file must not become a script or a page.
            context.Response.Headers.XContentTypeOptions = "nosniff";
            return next(context);
        });
        app.UseExceptionHandler();
        if (app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HttpEdgeOptions>>().Value.Forwarding() is { } forwarding)
        {
            // Only from the configured proxies: anyone else's X-Forwarded-* is ignored.
            app.UseForwardedHeaders(forwarding);
        }

        // The upload web app's static files (/app/): no key, no routing.
        app.UseWebApp();
        // The method override must run before routing picks an endpoint by method.
        app.UseTusMethodOverride();
        app.UseRouting();
        app.UseCors();
        app.UseAddressThrottle();
        app.UseAuthentication();
        app.UseUploadLinkScope();
        app.UseAuthorization();
        app.UseOwnerPropagation();
        app.UseIssuedMediaIds();
        app.UseMediaIdLogScope();
        app.UseClusterRateLimits();
        app.UseStatusCodePages();
        app.MapOpenApi().AllowAnonymous();
        // An interactive reference of the API, from the OpenAPI document.
        app.MapScalarApiReference("/docs", options => options.WithTitle("Media upload service").WithOpenApiRoutePattern("/openapi/{documentName}.json"))
            .AllowAnonymous();
        app.MapAdmin();
        app.MapClusterAdmin();
        app.MapStorageAdmin();
        app.MapShareLinks();
        app.MapUploadLinks();
        Webhooks.WebhookEndpoints.MapWebhooks(app);
        app.MapMediaHealth();
        app.MapMediaMetrics(app.Configuration).AllowAnonymous();
        app.MapUploads();
        app.MapMedia();
        app.MapMetadata();
        app.MapTus();
        return app;
    }

    /// <summary>
    /// Requests about one item (<c>/media/{id}</c>, <c>/files/{id}</c>) whose id this service never issued (its check
    /// bits do not match, <see cref="MediaIds"/>) are answered 404 here, before any grain is activated or any state is
    /// read: a scan of made-up ids costs the cluster nothing.
    /// </summary>
    public static IApplicationBuilder UseIssuedMediaIds(this IApplicationBuilder app) => app.Use(static async (context, next) =>
    {
        var path = context.Request.Path;
        var tus = path.StartsWithSegments("/files");
        // A request without a key or a share link is the route's to refuse (401), whatever its id.
        var caller = context.User.Identity?.IsAuthenticated == true || context.Request.Query.ContainsKey("sig");
        if (caller && (tus || path.StartsWithSegments("/media")) && context.GetRouteValue("id") is string text
            && long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
            && !await context.RequestServices.GetRequiredService<MediaIdIssuer>().IsIssuedAsync(id))
        {
            if (tus)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                context.Response.Headers["Tus-Resumable"] = TusEndpoints.Version;
                return;
            }

            await Problems.NotFound(id).ExecuteAsync(context);
            return;
        }

        // An item whose logical shard is being moved: refused here at once, for as long as the move takes.
        if (caller && (tus || path.StartsWithSegments("/media")) && context.GetRouteValue("id") is string moving
            && long.TryParse(moving, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var movingId)
            && (await context.RequestServices.GetRequiredService<DataPlane.Sharding.IShardMapSource>().MapAsync(context.RequestAborted)).Route(movingId).State
                == DataPlane.Sharding.ShardState.Draining)
        {
            var retry = context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<DataPlane.Sharding.StorageOptions>>().Value.DrainRetryAfter;
            context.Response.Headers.RetryAfter = Math.Max(1, Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (tus)
            {
                context.Response.Headers["Tus-Resumable"] = TusEndpoints.Version;
            }

            await ApiErrors.StorageUnavailable.Problem("This item's storage is being moved; nothing was changed. Retry later.").ExecuteAsync(context);
            return;
        }

        await next(context);
    });

    /// <summary>
    /// Requests about one item (<c>/media/{id}</c>, <c>/files/{id}</c>) log under a <c>MediaId</c> scope and tag their
    /// trace with <c>media.id</c>, so that one upload's lines and spans can be found across frontends and silos.
    /// </summary>
    public static IApplicationBuilder UseMediaIdLogScope(this IApplicationBuilder app) => app.Use(static async (context, next) =>
    {
        if ((context.Request.Path.StartsWithSegments("/media") || context.Request.Path.StartsWithSegments("/files"))
            && context.GetRouteValue("id") is string id && long.TryParse(id, out var mediaId))
        {
            System.Diagnostics.Activity.Current?.SetTag("media.id", mediaId);
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("MediaService.Requests");
            using (logger.BeginScope(new Dictionary<string, object> { ["MediaId"] = mediaId }))
            {
                await next(context);
            }

            return;
        }

        await next(context);
    });
}
