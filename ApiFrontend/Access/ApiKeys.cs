using MediaService.ApiFrontend.Limits;
using MediaService.ApiFrontend.Admin;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using MediaService.DataPlane;
using MediaService.DataPlane.Telemetry;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Polly;
using Polly.Registry;

namespace MediaService.ApiFrontend.Access;

/// <summary>Who a key belongs to.</summary>
public sealed record KeyIdentity(long Id, string Owner, bool IsAdmin);

/// <summary>A key as an admin lists it: never its secret.</summary>
public sealed record KeyListing(long Id, string Owner, bool IsAdmin, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>What a bootstrap key turned out to be.</summary>
public enum KeyStanding
{
    /// <summary>Not a key of this service's form (or signed under another service's secret).</summary>
    NotAKey,

    /// <summary>Known and active.</summary>
    Active,

    /// <summary>Known and revoked.</summary>
    Revoked,

    /// <summary>Well formed but not in the database.</summary>
    Absent,
}

/// <summary>
/// API keys in PostgreSQL (table <c>api_keys</c>, migration 005). A key is <c>mk_</c>, 43 characters of base64url (256
/// random bits) and 22 more that sign them (128 bits of an HMAC-SHA256 under the service's <c>api-keys</c> secret,
/// <see cref="ServiceSecrets"/>); only its SHA-256 is stored. A presented key whose shape or signature is wrong is
/// refused without touching the database, so made-up keys cost a hash and never a query (a bootstrap file's key without
/// a signature is trusted by name, <see cref="Trust"/>). Lookups of signed keys are
/// cached for <see cref="AuthOptions.KeyCacheTtl"/>, which bounds how long a revoked key keeps working on a frontend;
/// only signed keys enter the cache, so a flood of made-up ones cannot evict the real ones.
/// </summary>
public sealed class ApiKeys(NpgsqlDataSource dataSource, ResiliencePipelineProvider<string> pipelines, IOptions<ClusterOptions> cluster,
    IOptions<AuthOptions> options, ServiceSecrets secrets, MediaMetrics metrics, TimeProvider time)
{
    /// <summary>What an owner name may be.</summary>
    public const string OwnerPattern = "^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$";

    /// <summary>The name of the secret that signs keys.</summary>
    public const string SecretName = "api-keys";

    /// <summary>Most keys cached per frontend.</summary>
    public const int CacheCapacity = 100_000;

    private const string Prefix = "mk_";
    private const int RandomChars = 43;
    private const int SignatureChars = 22;

    /// <summary>The length of a key.</summary>
    public const int KeyLength = 3 + RandomChars + SignatureChars;

    private readonly ResiliencePipeline _pipeline = pipelines.GetPipeline(Resilience.Postgres);
    private readonly ConcurrentDictionary<string, (KeyIdentity? Identity, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _trusted = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, (bool Active, DateTimeOffset Until)> _activeById = new();
    private readonly string _service = cluster.Value.ServiceId;

    /// <summary>Makes a key for an owner; the key itself is returned only here.</summary>
    public async Task<(KeyIdentity Identity, string Key)> CreateAsync(string owner, bool isAdmin, CancellationToken cancellationToken)
    {
        var key = await NewKeyAsync();
        return (await InsertAsync(key, owner, isAdmin, cancellationToken), key);
    }

    /// <summary>A new signed key, not recorded yet (<see cref="AddAsync"/> records it).</summary>
    public async Task<string> NewKeyAsync()
    {
        var random = System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return Prefix + random + Signature(await secrets.GetAsync(SecretName), random);
    }

    /// <summary>Whether <paramref name="key"/> is signed by this service, or is a bootstrap file's key this frontend was
    /// told to trust (<see cref="Trust"/>): no database work beyond reading the secret once per process.</summary>
    public async ValueTask<bool> IsSignedAsync(string key)
    {
        if (!_trusted.IsEmpty && key.Length <= 200 && _trusted.ContainsKey(Convert.ToHexString(Hash(key))))
        {
            return true;
        }

        if (key.Length != KeyLength || !key.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var secret = secrets.Peek(SecretName) ?? await secrets.GetAsync(SecretName);
        var random = key.AsSpan(Prefix.Length, RandomChars);
        return CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(Signature(secret, random.ToString())), Encoding.ASCII.GetBytes(key[(Prefix.Length + RandomChars)..]));
    }

    /// <summary>Lets a key that carries no signature (a bootstrap file's, made by an operator or an older version) be
    /// looked up like a signed one on this frontend.</summary>
    public void Trust(string key) => _trusted[Convert.ToHexString(Hash(key))] = 0;

    /// <summary>What a key of a bootstrap file is to this service (read from the database, signed or not).</summary>
    public async Task<KeyStanding> StandingAsync(string key, CancellationToken cancellationToken)
    {
        if (!key.StartsWith(Prefix, StringComparison.Ordinal) || key.Length is < 20 or > 200)
        {
            return KeyStanding.NotAKey;
        }

        return await RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand(
                "SELECT revoked_at IS NOT NULL FROM api_keys WHERE key_hash = @hash AND service_id = @service");
            command.Parameters.AddWithValue("hash", Hash(key));
            command.Parameters.AddWithValue("service", _service);
            return await command.ExecuteScalarAsync(ct) switch
            {
                bool revoked => revoked ? KeyStanding.Revoked : KeyStanding.Active,
                _ => KeyStanding.Absent,
            };
        }, cancellationToken);
    }

    /// <summary>Records a key (a bootstrap file's) that the database does not hold yet; another frontend
    /// recording it at the same time is no error.</summary>
    public Task AddAsync(string key, string owner, bool isAdmin, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand("""
                INSERT INTO api_keys (service_id, owner, key_hash, is_admin) VALUES (@service, @owner, @hash, @admin)
                ON CONFLICT DO NOTHING
                """);
            command.Parameters.AddWithValue("service", _service);
            command.Parameters.AddWithValue("owner", owner);
            command.Parameters.AddWithValue("hash", Hash(key));
            command.Parameters.AddWithValue("admin", isAdmin);
            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);

    /// <summary>Who a presented key belongs to, or null when it is malformed, unsigned, unknown or revoked.</summary>
    public async Task<KeyIdentity?> FindAsync(string key, CancellationToken cancellationToken)
    {
        if (!await IsSignedAsync(key))
        {
            metrics.AuthenticationFailed(key.StartsWith(Prefix, StringComparison.Ordinal) && key.Length == KeyLength ? "signature" : "malformed");
            return null;
        }

        var now = time.GetUtcNow();
        var hash = Convert.ToHexString(Hash(key));
        if (_cache.TryGetValue(hash, out var cached) && cached.Until > now)
        {
            return Counted(cached.Identity);
        }

        KeyIdentity? identity;
        try
        {
            metrics.KeyLookedUp();
            identity = await FindUncachedAsync(key, cancellationToken);
        }
        catch (Exception ex) when (Resilience.IsPostgresUnavailable(ex)
            && _cache.TryGetValue(hash, out var stale) && stale.Until - options.Value.KeyCacheTtl + options.Value.KeyStaleIfError > now)
        {
            // The database does not answer: what was read about this key a short while ago still holds (stale-if-error).
            return Counted(stale.Identity);
        }

        if (_cache.Count >= CacheCapacity)
        {
            // Only expired entries go; when every entry is live, this key is simply not cached.
            foreach (var entry in _cache)
            {
                if (entry.Value.Until <= now)
                {
                    _cache.TryRemove(entry);
                }
            }
        }

        if (_cache.Count < CacheCapacity || _cache.ContainsKey(hash))
        {
            _cache[hash] = (identity, now + options.Value.KeyCacheTtl);
        }

        return Counted(identity);
    }

    /// <summary>Whether the key with this id exists and is not revoked (an upload link made with it works only while it
    /// is). Cached for <see cref="AuthOptions.KeyCacheTtl"/> like key lookups, and read stale while the database does not
    /// answer (<see cref="AuthOptions.KeyStaleIfError"/>).</summary>
    public async Task<bool> IsActiveAsync(long id, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_activeById.TryGetValue(id, out var cached) && cached.Until > now)
        {
            return cached.Active;
        }

        bool active;
        try
        {
            active = await RunAsync(async ct =>
            {
                await using var command = dataSource.CreateCommand(
                    "SELECT count(*) FROM api_keys WHERE service_id = @service AND id = @id AND revoked_at IS NULL");
                command.Parameters.AddWithValue("service", _service);
                command.Parameters.AddWithValue("id", id);
                return (long)(await command.ExecuteScalarAsync(ct))! == 1;
            }, cancellationToken);
        }
        catch (Exception ex) when (Resilience.IsPostgresUnavailable(ex)
            && _activeById.TryGetValue(id, out var stale) && stale.Until - options.Value.KeyCacheTtl + options.Value.KeyStaleIfError > now)
        {
            return stale.Active;
        }

        if (_activeById.Count >= CacheCapacity)
        {
            _activeById.Clear();
        }

        _activeById[id] = (active, now + options.Value.KeyCacheTtl);
        return active;
    }

    private KeyIdentity? Counted(KeyIdentity? identity)
    {
        if (identity is null)
        {
            metrics.AuthenticationFailed("unknown");
        }

        return identity;
    }

    private static string Signature(byte[] secret, string random) =>
        System.Buffers.Text.Base64Url.EncodeToString(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes("api-key:" + random)).AsSpan(0, 16));

    /// <summary>Revokes a key; false when no active key has that id.</summary>
    public Task<bool> RevokeAsync(long id, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand(
                "UPDATE api_keys SET revoked_at = now() WHERE service_id = @service AND id = @id AND revoked_at IS NULL");
            command.Parameters.AddWithValue("service", _service);
            command.Parameters.AddWithValue("id", id);
            return await command.ExecuteNonQueryAsync(ct) == 1;
        }, cancellationToken);

    /// <summary>Every key of the service, newest first, without secrets.</summary>
    public Task<IReadOnlyList<KeyListing>> ListAsync(CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<KeyListing>>(async ct =>
        {
            await using var command = dataSource.CreateCommand(
                "SELECT id, owner, is_admin, created_at, revoked_at FROM api_keys WHERE service_id = @service ORDER BY id DESC");
            command.Parameters.AddWithValue("service", _service);
            var keys = new List<KeyListing>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                keys.Add(new KeyListing(reader.GetInt64(0), reader.GetString(1), reader.GetBoolean(2),
                    new DateTimeOffset(reader.GetDateTime(3), TimeSpan.Zero),
                    reader.IsDBNull(4) ? null : new DateTimeOffset(reader.GetDateTime(4), TimeSpan.Zero)));
            }

            return keys;
        }, cancellationToken);

    private Task<KeyIdentity> InsertAsync(string key, string owner, bool isAdmin, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand(
                "INSERT INTO api_keys (service_id, owner, key_hash, is_admin) VALUES (@service, @owner, @hash, @admin) RETURNING id");
            command.Parameters.AddWithValue("service", _service);
            command.Parameters.AddWithValue("owner", owner);
            command.Parameters.AddWithValue("hash", Hash(key));
            command.Parameters.AddWithValue("admin", isAdmin);
            return new KeyIdentity((long)(await command.ExecuteScalarAsync(ct))!, owner, isAdmin);
        }, cancellationToken);

    private Task<KeyIdentity?> FindUncachedAsync(string key, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await using var command = dataSource.CreateCommand(
                "SELECT id, owner, is_admin FROM api_keys WHERE key_hash = @hash AND service_id = @service AND revoked_at IS NULL");
            command.Parameters.AddWithValue("hash", Hash(key));
            command.Parameters.AddWithValue("service", _service);
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct) ? new KeyIdentity(reader.GetInt64(0), reader.GetString(1), reader.GetBoolean(2)) : null;
        }, cancellationToken);

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    // Key writes are not repeated (an insert could run twice); lookups fail fast rather than hold a request.
    private Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        _pipeline.RunAsync(idempotent: false, call, cancellationToken);
}
