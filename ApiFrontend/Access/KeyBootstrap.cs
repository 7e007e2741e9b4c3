using MediaService.ApiFrontend.Limits;
using MediaService.ApiFrontend.Admin;
using Microsoft.Extensions.Options;

namespace MediaService.ApiFrontend.Access;

/// <summary>
/// At start-up, makes the keys named by <see cref="AuthOptions.BootstrapAdminKeyFile"/> and
/// <see cref="AuthOptions.BootstrapUserKeyFile"/> usable: a missing file gets a new key (written with mode 600, by one
/// frontend even when several start together); an existing file's key (signed by the service or written by an
/// operator) is made known to the service and trusted by this frontend. A revoked one stays revoked and the start goes
/// on; a file that holds no key is logged and the start goes on.
/// </summary>
public sealed partial class KeyBootstrap(ApiKeys keys, IOptions<AuthOptions> options, ILogger<KeyBootstrap> logger) : IHostedService
{
    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.BootstrapAdminKeyFile is { Length: > 0 } admin)
        {
            await EnsureAsync(admin, "admin", isAdmin: true, cancellationToken);
        }

        if (settings.BootstrapUserKeyFile is { Length: > 0 } user)
        {
            await EnsureAsync(user, settings.BootstrapUserOwner, isAdmin: false, cancellationToken);
        }
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task EnsureAsync(string path, string owner, bool isAdmin, CancellationToken cancellationToken)
    {
        if (!File.Exists(path) && await WriteNewAsync(path, owner, isAdmin, cancellationToken))
        {
            return;
        }

        // The file was there, or another frontend wrote it first: use what it holds.
        var existing = (await File.ReadAllTextAsync(path, cancellationToken)).Trim();
        switch (await keys.StandingAsync(existing, cancellationToken))
        {
            case KeyStanding.Active:
                keys.Trust(existing);
                return;
            case KeyStanding.Absent:
                await keys.AddAsync(existing, owner, isAdmin, cancellationToken);
                keys.Trust(existing);
                return;
            case KeyStanding.Revoked:
                // An operator revoked it on purpose: start without it rather than not at all.
                LogRevoked(logger, owner, path);
                return;
            default:
                LogNotAKey(logger, owner, path);
                return;
        }
    }

    // The key is written first and recorded only once the file holds it: a start that cannot write (a read-only
    // mount, a folder in the way) records nothing and fails loudly, and a lost race records nothing either.
    private async Task<bool> WriteNewAsync(string path, string owner, bool isAdmin, CancellationToken cancellationToken)
    {
        var key = await keys.NewKeyAsync();
        var temporary = $"{path}.{Guid.NewGuid():N}";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await File.WriteAllTextAsync(temporary, key + "\n", cancellationToken);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        try
        {
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary);
            return false;
        }

        await keys.AddAsync(key, owner, isAdmin, cancellationToken);
        LogCreated(logger, owner, path);
        return true;
    }

    [LoggerMessage(EventId = LogEvents.Keys + 1, Level = LogLevel.Information, Message = "Made a key for {Owner} in {Path}")]
    private static partial void LogCreated(ILogger logger, string owner, string path);

    [LoggerMessage(EventId = LogEvents.Keys + 2, Level = LogLevel.Warning,
        Message = "The bootstrap key for {Owner} in {Path} is revoked; starting without it (delete the file to get a new key)")]
    private static partial void LogRevoked(ILogger logger, string owner, string path);

    [LoggerMessage(EventId = LogEvents.Keys + 3, Level = LogLevel.Error,
        Message = "The bootstrap key file for {Owner} at {Path} holds no key (mk_ and 17 to 197 characters); starting without it")]
    private static partial void LogNotAKey(ILogger logger, string owner, string path);
}
