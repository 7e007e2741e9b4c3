using Microsoft.Extensions.Options;

namespace MediaService.ApiFrontend.Auth;

/// <summary>
/// At start-up, makes the keys named by <see cref="AuthOptions.BootstrapAdminKeyFile"/> and
/// <see cref="AuthOptions.BootstrapUserKeyFile"/> usable: a missing file gets a new key (written with mode 600, by one
/// frontend even when several start together); an existing file's key is made known to the service. A revoked one is
/// left revoked and the start goes on; one that is not a signed key of this service (an older form) is replaced.
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
        if (File.Exists(path))
        {
            var existing = (await File.ReadAllTextAsync(path, cancellationToken)).Trim();
            switch (await keys.StandingAsync(existing, cancellationToken))
            {
                case KeyStanding.Active:
                    return;
                case KeyStanding.Absent:
                    await keys.AddAsync(existing, owner, isAdmin, cancellationToken);
                    return;
                case KeyStanding.Revoked:
                    // An operator revoked it on purpose: start without it rather than not at all.
                    LogRevoked(logger, owner, path);
                    return;
                default:
                    // An older form of key, or one signed for another service: replaced by a new one.
                    LogReplaced(logger, owner, path);
                    await WriteNewAsync(path, owner, isAdmin, overwrite: true, cancellationToken);
                    return;
            }
        }

        if (!await WriteNewAsync(path, owner, isAdmin, overwrite: false, cancellationToken))
        {
            await EnsureAsync(path, owner, isAdmin, cancellationToken); // another frontend wrote it first: use theirs
        }
    }

    private async Task<bool> WriteNewAsync(string path, string owner, bool isAdmin, bool overwrite, CancellationToken cancellationToken)
    {
        var (_, key) = await keys.CreateAsync(owner, isAdmin, cancellationToken);
        var temporary = $"{path}.{Guid.NewGuid():N}";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await File.WriteAllTextAsync(temporary, key + "\n", cancellationToken);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        try
        {
            File.Move(temporary, path, overwrite);
            LogCreated(logger, owner, path);
            return true;
        }
        catch (IOException)
        {
            File.Delete(temporary);
            return false;
        }
    }

    [LoggerMessage(EventId = 3301, Level = LogLevel.Information, Message = "Made a key for {Owner} in {Path}")]
    private static partial void LogCreated(ILogger logger, string owner, string path);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Warning,
        Message = "The bootstrap key for {Owner} in {Path} is revoked; starting without it (delete the file to get a new key)")]
    private static partial void LogRevoked(ILogger logger, string owner, string path);

    [LoggerMessage(EventId = 3303, Level = LogLevel.Warning,
        Message = "The bootstrap key for {Owner} in {Path} is not a signed key of this service; replacing it with a new one")]
    private static partial void LogReplaced(ILogger logger, string owner, string path);
}
