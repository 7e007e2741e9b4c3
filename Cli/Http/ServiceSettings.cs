namespace MediaService.Cli.Http;

/// <summary>Where the service is and which key to send: <c>--url</c>/<c>--key</c>, then <c>MEDIA_URL</c>/<c>MEDIA_KEY</c>,
/// then the defaults of <c>./run.sh</c> (<c>http://127.0.0.1:5080</c> and the key in <c>.data/dev-api-key</c> of the
/// repository the <c>./media</c> wrapper lives in).</summary>
public sealed record ServiceSettings(Uri BaseUrl, string Key, int Retries)
{
    /// <summary>The address <c>./run.sh</c> serves on by default.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>Retries of a request that failed on the network or with 5xx/429, by default.</summary>
    public const int DefaultRetries = 5;

    /// <summary>The options every command takes.</summary>
    public static readonly OptionSpec[] Options =
    [
        new("url", null, "URL", $"the service (default: $MEDIA_URL, then {DefaultUrl})"),
        new("key", null, "KEY", "the API key (default: $MEDIA_KEY, then <repository>/.data/dev-api-key)"),
        new("retries", null, "N", $"retries of a request that failed on the network or with 5xx/429 (default {DefaultRetries})"),
        new("help", 'h', null, "this help"),
    ];

    /// <summary>Resolves the settings from the command line, then the environment, then the defaults.</summary>
    public static ServiceSettings Resolve(Arguments args)
    {
        var url = args.Value("url") ?? NonEmpty(Environment.GetEnvironmentVariable("MEDIA_URL")) ?? DefaultUrl;
        if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("http" or "https"))
        {
            throw new CliException(ExitCodes.Usage, $"not an http(s) URL: '{url}'");
        }

        var key = args.Value("key") ?? NonEmpty(Environment.GetEnvironmentVariable("MEDIA_KEY"));
        if (key is null)
        {
            var file = DefaultKeyFile();
            if (file is null || !File.Exists(file))
            {
                throw new CliException(ExitCodes.Auth,
                    "no API key: pass --key or set MEDIA_KEY (./run.sh writes one to .data/dev-api-key on its first start)");
            }

            key = File.ReadAllText(file).Trim();
        }

        var retries = (int)args.Number("retries", DefaultRetries, 0, 100);
        return new ServiceSettings(baseUrl, key, retries);
    }

    /// <summary>The key file <c>./run.sh</c> writes: in the repository named by <c>MEDIA_CLI_ROOT</c> (the wrapper sets it),
    /// or found above this program's own files.</summary>
    private static string? DefaultKeyFile()
    {
        if (NonEmpty(Environment.GetEnvironmentVariable("MEDIA_CLI_ROOT")) is { } root)
        {
            return Path.Combine(root, ".data", "dev-api-key");
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "media")) && Directory.Exists(Path.Combine(dir.FullName, "Cli")))
            {
                return Path.Combine(dir.FullName, ".data", "dev-api-key");
            }
        }

        return null;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
