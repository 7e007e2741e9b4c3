using Microsoft.Extensions.Options;

namespace MediaService.ApiFrontend.Auth;

/// <summary>
/// At start-up, makes the keys named by <see cref="AuthOptions.BootstrapAdminKeyFile"/> and
/// <see cref="AuthOptions.BootstrapUserKeyFile"/> usable: a missing file gets a new key (written with mode 600, by one
/// frontend even when several start together); an existing file's key is made known to the service.
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
        if (!File.Exists(path))
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
                File.Move(temporary, path, overwrite: false);
                LogCreated(logger, owner, path);
                return;
            }
            catch (IOException)
            {
                File.Delete(temporary); // another frontend wrote it first: use theirs
            }
        }

        var existing = (await File.ReadAllTextAsync(path, cancellationToken)).Trim();
        await keys.EnsureAsync(existing, owner, isAdmin, cancellationToken);
    }

    [LoggerMessage(EventId = 3301, Level = LogLevel.Information, Message = "Made a key for {Owner} in {Path}")]
    private static partial void LogCreated(ILogger logger, string owner, string path);
}
