namespace MediaService.ApiFrontend;

/// <summary>Browsers on other origins allowed to call the API (tus-js-client, Uppy). Section <c>Cors</c>.</summary>
public sealed class CorsSettings
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Cors";

    /// <summary>Origins such as <c>https://app.example.com</c>. Default: none (same origin only).</summary>
    public string[] AllowedOrigins { get; set; } = [];
}
