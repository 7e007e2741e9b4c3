using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Npgsql;

namespace MediaService.DataPlane.Sharding;

/// <summary>
/// The databases that hold media items. Section <c>Storage</c>. Each entry of <see cref="Shards"/> names a PostgreSQL
/// database (<c>Storage:Shards:db1 = Host=...;Database=media_s1</c>); the 64 logical shards are spread over them. Empty
/// (the default): every item on the control database, <c>ConnectionStrings:Media</c>, under the name <c>main</c>.
/// Membership, reminders, keys, secrets and webhooks always stay on the control database.
/// </summary>
public sealed partial class StorageOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Storage";

    /// <summary>The database's name when <see cref="Shards"/> is empty.</summary>
    public const string DefaultDatabase = "main";

    /// <summary>Database name to connection string. Names: lower-case letters, digits and dashes, at most 32.</summary>
    public Dictionary<string, string> Shards { get; set; } = [];

    /// <summary>How old the shard map may be before a call reads it again: a moved shard shows everywhere within this.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan MapRefresh { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often each database is probed (<c>SELECT 1</c>) for placement and <c>/admin/storage</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a probe waits for its answer.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long one database's part of a search may take before the answer goes on without it (partial).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan SearchTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>The Retry-After of an item whose shard is being moved.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan DrainRetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a move waits for the shard's items to leave memory before it fences the shard anyway.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an owner's usage on a database that does not answer may be taken from the last answer (quotas).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan UsageStaleAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The databases in force: <see cref="Shards"/>, or the control database alone.</summary>
    public IReadOnlyDictionary<string, string> Databases(string controlConnectionString) =>
        Shards.Count > 0 ? Shards : new Dictionary<string, string> { [DefaultDatabase] = controlConnectionString };

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, connectionString) in Shards.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            if (!NamePattern().IsMatch(name))
            {
                yield return new ValidationResult($"Storage:Shards:{name}: a name is lower-case letters, digits and dashes (at most 32).", [nameof(Shards)]);
                continue;
            }

            var target = Target(connectionString);
            if (target is null)
            {
                yield return new ValidationResult($"Storage:Shards:{name} is not a PostgreSQL connection string with a host and a database.", [nameof(Shards)]);
            }
            else if (seen.TryGetValue(target, out var other))
            {
                // Two names for one database: a move between them would delete what it had copied.
                yield return new ValidationResult($"Storage:Shards:{name} and Storage:Shards:{other} are the same database ({target}).", [nameof(Shards)]);
            }
            else
            {
                seen[target] = name;
            }
        }
    }

    // host:port/database, normalised; null when the connection string does not say where.
    public static string? Target(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            return string.IsNullOrWhiteSpace(builder.Host) || string.IsNullOrWhiteSpace(builder.Database)
                ? null
                : $"{builder.Host.Trim().ToLowerInvariant()}:{builder.Port}/{builder.Database}";
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,31}$")]
    private static partial Regex NamePattern();
}
