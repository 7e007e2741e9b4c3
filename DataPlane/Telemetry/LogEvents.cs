namespace MediaService;

/// <summary>
/// The ranges of <c>[LoggerMessage]</c> event ids, one per area, in one place (as Orleans' <c>ErrorCodes</c> does): an
/// event's id is its area's base plus a number of its own below 100, so ids never collide across files and a log line's
/// id says where it came from. A unit test checks that every id is unique and lies in its area.
/// </summary>
public static class LogEvents
{
    /// <summary>S3 (DataPlane/MediaObjectStore).</summary>
    public const int ObjectStore = 1000;

    /// <summary>The media item grain and its collaborators (Grains/MediaItem).</summary>
    public const int MediaItem = 2000;

    /// <summary>Appends streamed by the frontend (ApiFrontend/Uploads/).</summary>
    public const int Appends = 2100;

    /// <summary>Processing (Grains/Processing).</summary>
    public const int Processing = 2200;

    /// <summary>Webhook delivery (Grains/Webhooks).</summary>
    public const int WebhookDelivery = 2300;

    /// <summary>Creating items and one-shot uploads (ApiFrontend/Media/MediaIngest).</summary>
    public const int Ingest = 3000;

    /// <summary>The REST media routes (ApiFrontend/Media/MediaEndpoints, ApiFrontend/Uploads/UploadEndpoints).</summary>
    public const int MediaApi = 3100;

    /// <summary>Keys and service secrets (ApiFrontend/Access).</summary>
    public const int Keys = 3300;

    /// <summary>Rate limits (ApiFrontend/Limits: ClusterRateLimiter, RateLimitMiddleware).</summary>
    public const int RateLimits = 3400;

    /// <summary>Cluster and storage refusals at the edge (ApiFrontend/Http).</summary>
    public const int Edge = 3500;

    /// <summary>The web app (ApiFrontend/App).</summary>
    public const int WebApp = 3600;

    /// <summary>tus and the IETF draft (ApiFrontend/Tus).</summary>
    public const int Tus = 4000;

    /// <summary>The webhook API (ApiFrontend/Webhooks).</summary>
    public const int WebhookApi = 4600;

    /// <summary>Sharded storage: the map, the databases, moves (DataPlane/Sharding, Grains/Storage).</summary>
    public const int Storage = 4700;

    /// <summary>Every area's base, for the test that checks the ranges.</summary>
    public static IReadOnlyList<int> Areas { get; } =
        [ObjectStore, MediaItem, Appends, Processing, WebhookDelivery, Ingest, MediaApi, Keys, RateLimits, Edge, WebApp, Tus, WebhookApi, Storage];
}
