using System.ComponentModel.DataAnnotations;

namespace MediaService.ApiFrontend.Limits;

/// <summary>Cluster-wide rate limits per API key (or JWT owner) and class. Section <c>RateLimits</c>.</summary>
public sealed class RateLimitOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "RateLimits";

    /// <summary>False turns every limit off (for comparison in benchmarks). Default true.</summary>
    public bool Enabled { get; set; } = true;

    // The defaults are sized by bench/limits-bench.sh (figures in the README, "Rate limits"): a photo library sent by
    // tus-js-client or Uppy at their usual concurrency creates uploads at up to ~45/s on one machine, one per file,
    // and neither client retries a 429; a refused creation is a failed file.

    /// <summary>Uploads, tus creations and terminations, patches, deletes, links. Default 50/s, burst 500: a batch of
    /// 500 files is never refused whatever its pace, and a longer one keeps going at 50 files a second.</summary>
    public RateRule Create { get; set; } = new() { PerSecond = 50, Burst = 500 };

    /// <summary>tus and draft appends (PATCH). Default 200/s, burst 1000: 1 MiB chunks at 200 MiB/s, past the
    /// bandwidth limit, which is the limit that matters for appends.</summary>
    public RateRule Append { get; set; } = new() { PerSecond = 200, Burst = 1000 };

    /// <summary>Reads: content, renditions, item status, offset retrievals. Default 500/s, burst 1000: a gallery page
    /// of thumbnails, status polls of a batch, and a whole batch's offset retrievals after a reload.</summary>
    public RateRule Read { get; set; } = new() { PerSecond = 500, Burst = 1000 };

    /// <summary>Default 20/s, burst 40.</summary>
    public RateRule Search { get; set; } = new() { PerSecond = 20, Burst = 40 };

    /// <summary>Default 5/s, burst 10.</summary>
    public RateRule Admin { get; set; } = new() { PerSecond = 5, Burst = 10 };

    /// <summary>Upload bandwidth per owner, in KiB: per second and burst. Default 100 MiB/s, bursts of 16 MiB. An upload
    /// over it is slowed down (the frontend reads its body more slowly), never failed.</summary>
    public RateRule UploadKib { get; set; } = new() { PerSecond = 100 * 1024, Burst = 16 * 1024 };

    /// <summary>Failed authentications (401s) per client address, counted by each frontend before any credential is
    /// looked up; past it the address gets 429 unless it presents a signed key. Default 2/s, burst 30.</summary>
    public RateRule FailedAuthPerAddress { get; set; } = new() { PerSecond = 2, Burst = 30 };

    /// <summary>Requests without a key to routes that need none (health, OpenAPI, share links, tus capabilities) per
    /// client address, per frontend. Default 50/s, burst 200.</summary>
    public RateRule AnonymousPerAddress { get; set; } = new() { PerSecond = 50, Burst = 200 };

    /// <summary>Most client addresses a frontend tracks for the per-address limits (full buckets are forgotten first).
    /// Default 100,000.</summary>
    [Range(100, 10_000_000)]
    public int MaxTrackedAddresses { get; set; } = 100_000;

    /// <summary>How many seconds' worth of tokens a frontend takes from the cluster's bucket at once (at least one
    /// token). Smaller is more exact across frontends; larger makes fewer grain calls. Default 0.05 s.</summary>
    [Range(0.0, 10.0)]
    public double BatchSeconds { get; set; } = 0.05;

    /// <summary>How long a frontend may keep tokens it took and has not spent; then they are dropped (never returned
    /// late, so frontends together never exceed the rate). Default 250 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan LeaseLifetime { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a frontend waits for the cluster's bucket. When the cluster cannot answer in time (a silo
    /// just died and is not yet declared dead), the frontend admits on its own at the configured rate until it can
    /// ask again: a limiter never turns a cluster hiccup into failed requests. Default 2 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan ClusterCallTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The rule of a class.</summary>
    public RateRule For(RequestClass requestClass) => requestClass switch
    {
        RequestClass.Create => Create,
        RequestClass.Append => Append,
        RequestClass.Read => Read,
        RequestClass.Search => Search,
        _ => Admin,
    };
}
