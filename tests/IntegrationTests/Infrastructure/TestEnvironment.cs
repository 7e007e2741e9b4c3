using Microsoft.Extensions.Configuration;

namespace MediaService.IntegrationTests.Infrastructure;

/// <summary>
/// The real PostgreSQL and S3 server the tests run against, as ./test.sh exports them
/// (ConnectionStrings__Media, S3__ServiceUrl, S3__Bucket, S3__AccessKey, S3__SecretKey).
/// </summary>
public static class TestEnvironment
{
    public static IConfiguration Configuration { get; } = new ConfigurationBuilder().AddEnvironmentVariables().Build();

    public static string ConnectionString => Required("ConnectionStrings:Media");

    public static string S3ServiceUrl => Required("S3:ServiceUrl");

    /// <summary>The extra databases ./test.sh makes in the test PostgreSQL for storage shards (MEDIA_SHARD_DBS).</summary>
    public static IReadOnlyList<string> ShardDatabases =>
        (Configuration["MEDIA_SHARD_DBS"] ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The test connection string, to another database of the same PostgreSQL.</summary>
    public static string ConnectionStringFor(string database) =>
        new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString) { Database = database }.ConnectionString;

    public static string S3Bucket => Required("S3:Bucket");

    /// <summary>The storage databases every suite runs on (<c>Storage:Shards</c>): db0 is the test database itself (also
    /// the control database), db1.. the extra ones of MEDIA_SHARD_DBS. Empty when ./test.sh made none.</summary>
    public static IReadOnlyDictionary<string, string> StorageDatabases =>
        ShardDatabases.Count == 0
            ? new Dictionary<string, string>()
            : new Dictionary<string, string> { ["db0"] = ConnectionString }
                .Concat(ShardDatabases.Select((name, i) => KeyValuePair.Create($"db{i + 1}", ConnectionStringFor(name))))
                .ToDictionary();

    /// <summary>The connection string of the database that holds an item (by the service's shard map), or the test
    /// database when the service is not sharded.</summary>
    public static async Task<string> DatabaseOfAsync(string serviceId, long id)
    {
        await using var data = Npgsql.NpgsqlDataSource.Create(ConnectionString);
        await using var command = data.CreateCommand("SELECT database FROM shard_map WHERE service_id = @s AND shard = @n");
        command.Parameters.AddWithValue("s", serviceId);
        command.Parameters.AddWithValue("n", (short)MediaService.DataPlane.Sharding.ShardKey.Of(id));
        return await command.ExecuteScalarAsync() is string name && StorageDatabases.TryGetValue(name, out var connectionString)
            ? connectionString
            : ConnectionString;
    }

    /// <summary>Part size the tests run with: S3's minimum, so that multi-part cases stay small.</summary>
    public const long PartSize = 5L * 1024 * 1024;

    /// <summary>Settings shared by every silo and frontend of the tests.</summary>
    public static Dictionary<string, string?> Settings(string clusterId, string serviceId) => new Dictionary<string, string?>
    {
        ["ConnectionStrings:Media"] = ConnectionString,
        ["S3:ServiceUrl"] = S3ServiceUrl,
        ["S3:Bucket"] = S3Bucket,
        ["S3:AccessKey"] = Configuration["S3:AccessKey"],
        ["S3:SecretKey"] = Configuration["S3:SecretKey"],
        ["S3:PartSizeBytes"] = PartSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Uploads:MaxUploadBytes"] = (128L * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
        // The tests' webhook receivers listen on 127.0.0.1 (WebhookSubscriptionTests checks the refusal with it off).
        ["Webhooks:AllowPrivateTargets"] = "true",
        // The hostile corpus's decompression bomb (9000x9000, 324 MB as pixels) passes the pixel limit here so that it
        // meets the decoder's allocation cap (with the defaults, the pixel limit already rejects it).
        ["Processing:MaxImagePixels"] = "100000000",
        ["Processing:ImageMemoryMegabytes"] = "128",
        ["Processing:RetryDelay"] = "00:00:00.500",
        // Tests call fast and often as one owner: rate limits far above what they do, except where a test sets its own.
        ["RateLimits:Create:PerSecond"] = "100000",
        ["RateLimits:Create:Burst"] = "100000",
        ["RateLimits:Append:PerSecond"] = "100000",
        ["RateLimits:Append:Burst"] = "100000",
        ["RateLimits:Read:PerSecond"] = "100000",
        ["RateLimits:Read:Burst"] = "100000",
        ["RateLimits:Search:PerSecond"] = "100000",
        ["RateLimits:Search:Burst"] = "100000",
        ["RateLimits:Admin:PerSecond"] = "100000",
        ["RateLimits:Admin:Burst"] = "100000",
        ["RateLimits:FailedAuthPerAddress:PerSecond"] = "100000",
        ["RateLimits:FailedAuthPerAddress:Burst"] = "100000",
        ["RateLimits:AnonymousPerAddress:PerSecond"] = "100000",
        ["RateLimits:AnonymousPerAddress:Burst"] = "100000",
        ["RateLimits:UploadKib:PerSecond"] = "100000000",
        ["RateLimits:UploadKib:Burst"] = "100000000",
        ["Orleans:ClusterId"] = clusterId,
        ["Orleans:ServiceId"] = serviceId,
    }.Concat(StorageDatabases.Select(d => KeyValuePair.Create($"Storage:Shards:{d.Key}", (string?)d.Value))).ToDictionary();

    /// <summary>A client of the test S3 server, to look at what the service stored.</summary>
    public static Amazon.S3.AmazonS3Client S3Client() => MediaService.DataPlane.DataPlaneServiceCollectionExtensions.CreateClient(new MediaService.DataPlane.S3Options
    {
        ServiceUrl = S3ServiceUrl,
        Bucket = S3Bucket,
        AccessKey = Configuration["S3:AccessKey"],
        SecretKey = Configuration["S3:SecretKey"],
    });

    /// <summary>The keys under a prefix of the test bucket.</summary>
    public static async Task<IReadOnlyList<string>> KeysAsync(string prefix)
    {
        using var s3 = S3Client();
        var listing = await s3.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = S3Bucket, Prefix = prefix });
        return [.. (listing.S3Objects ?? []).Select(o => o.Key)];
    }

    /// <summary>The version of an item the service's search index holds, or null when it holds no row for it.</summary>
    public static async Task<long?> IndexedVersionAsync(string serviceId, long id)
    {
        await using var data = Npgsql.NpgsqlDataSource.Create(await DatabaseOfAsync(serviceId, id));
        await using var command = data.CreateCommand("SELECT version FROM media_index WHERE service_id = @s AND media_id = @id");
        command.Parameters.AddWithValue("s", serviceId);
        command.Parameters.AddWithValue("id", id);
        return await command.ExecuteScalarAsync() as long?;
    }

    private static string Required(string key) =>
        Configuration[key] is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{key} is not set. Run the tests through ./test.sh, which starts PostgreSQL and the S3 server.");
}
