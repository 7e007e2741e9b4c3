using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace MediaService.ApiFrontend.Http;

/// <summary>How the frontend is reached from outside. Section <c>Http</c>.</summary>
public sealed class HttpEdgeOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Http";

    /// <summary>
    /// The absolute URL clients reach the service at (for example <c>https://media.example.com</c>, behind a TLS
    /// ingress), from which <c>Location</c> headers are built. Unset (the default): <c>Location</c> is relative
    /// (<c>/files/{id}</c>), which every tus client resolves against the URL it called. Never taken from the
    /// request's <c>Host</c>.
    /// </summary>
    public Uri? PublicBaseUrl { get; set; }

    /// <summary>
    /// Proxies whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are believed: addresses (<c>10.0.0.5</c>) or
    /// networks (<c>10.0.0.0/8</c>). The client address they name is the one the per-address limits count. Default:
    /// none, so that forwarded headers are ignored and the connection's address is the client's.
    /// </summary>
    public string[] TrustedProxies { get; set; } = [];

    /// <summary>The forwarded-headers settings of <see cref="TrustedProxies"/>, or null when there are none.</summary>
    public ForwardedHeadersOptions? Forwarding()
    {
        if (TrustedProxies.Length == 0)
        {
            return null;
        }

        var forwarding = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto };
        forwarding.KnownProxies.Clear();
        forwarding.KnownIPNetworks.Clear();
        foreach (var entry in TrustedProxies)
        {
            if (entry.Contains('/'))
            {
                forwarding.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(entry));
            }
            else
            {
                forwarding.KnownProxies.Add(IPAddress.Parse(entry));
            }
        }

        return forwarding;
    }

    /// <summary>The URL of upload <paramref name="id"/> as a <c>Location</c> header gives it.</summary>
    public string UploadUrl(HttpRequest request, long id) => PublicBaseUrl is { } root
        ? $"{root.GetLeftPart(UriPartial.Path).TrimEnd('/')}/files/{id}"
        : $"{request.PathBase}/files/{id}";

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (PublicBaseUrl is { } url && (!url.IsAbsoluteUri || url.Scheme is not ("http" or "https") || url.Query.Length > 0 || url.Fragment.Length > 0))
        {
            yield return new ValidationResult("Http:PublicBaseUrl must be an absolute http or https URL without query or fragment.", [nameof(PublicBaseUrl)]);
        }

        foreach (var entry in TrustedProxies)
        {
            if (!(entry.Contains('/') ? System.Net.IPNetwork.TryParse(entry, out _) : IPAddress.TryParse(entry, out _)))
            {
                yield return new ValidationResult($"Http:TrustedProxies: '{entry}' is neither an address nor a network.", [nameof(TrustedProxies)]);
            }
        }
    }
}
