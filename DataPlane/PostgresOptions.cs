using System.ComponentModel.DataAnnotations;

namespace MediaService.DataPlane;

/// <summary>How calls to PostgreSQL made by the service itself are guarded. Section <c>Postgres</c>.
/// The connection string is <c>ConnectionStrings:Media</c>.</summary>
public sealed class PostgresOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Postgres";

    /// <summary>The name of the connection string in <c>ConnectionStrings</c>.</summary>
    public const string ConnectionStringName = "Media";

    /// <summary>ADO.NET invariant the Orleans providers load Npgsql by.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>Time allowed for one attempt of one call. Default 15 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Retries of a call after a transient failure (exponential backoff with jitter). Default 3.</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 3;

    /// <summary>First retry delay. Default 100 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long an open circuit refuses calls. Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(10);
}
