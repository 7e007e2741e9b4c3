using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace MediaService.DataPlane.Webhooks;

/// <summary>
/// Which webhook targets may be called: an absolute http(s) URL without credentials, whose host (a name is resolved)
/// has only public addresses. Loopback, private (RFC 1918, IPv6 unique-local), link-local (and so the cloud metadata
/// address 169.254.169.254), carrier-grade NAT, "this network", multicast, broadcast, documentation and benchmark
/// ranges and the IPv6 forms that carry an IPv4 address inside (mapped, compatible, NAT64, 6to4; Teredo always) of any
/// of them are refused, unless <see cref="WebhookOptions.AllowPrivateTargets"/>.
/// Checked at subscription; delivery checks the address it connects to again (a name may resolve elsewhere later).
/// </summary>
public static class WebhookTargets
{
    /// <summary>Why <paramref name="address"/> is no target, or null when it is a public address.</summary>
    public static string? Refusal(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return "a loopback address";
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return (b[0], b[1]) switch
            {
                (0, _) => "a 'this network' address",
                (10, _) => "a private address",
                (100, >= 64 and <= 127) => "a carrier-grade NAT address",
                (169, 254) => "a link-local address (cloud metadata lives there)",
                (172, >= 16 and <= 31) => "a private address",
                (192, 168) => "a private address",
                (192, 0) when b[2] is 0 or 2 => "a reserved address",
                (198, 18 or 19) => "a benchmark address",
                (198, 51) when b[2] == 100 => "a documentation address",
                (203, 0) when b[2] == 113 => "a documentation address",
                (>= 224, _) => "a multicast or reserved address",
                _ => null,
            };
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            if (address.Equals(IPAddress.IPv6None) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast)
            {
                return "a link-local, site-local, multicast or unspecified address";
            }

            if ((b[0] & 0xfe) == 0xfc)
            {
                return "a unique-local (private) address";
            }

            if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
            {
                return "a documentation address";
            }

            if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0)
            {
                // NAT64: the IPv4 address inside decides.
                return Refusal(new IPAddress(b.AsSpan(12, 4)));
            }

            if (b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0)
            {
                // IPv4-compatible (::a.b.c.d, deprecated): the IPv4 address inside decides.
                return Refusal(new IPAddress(b.AsSpan(12, 4)));
            }

            if (b[0] == 0x20 && b[1] == 0x02)
            {
                // 6to4 (2002:a.b.c.d::/48) reaches the IPv4 address inside.
                return Refusal(new IPAddress(b.AsSpan(2, 4))) is { } inside ? $"a 6to4 address of {inside}" : null;
            }

            if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00)
            {
                return "a Teredo address";
            }

            return null;
        }

        return "not an IP address";
    }

    /// <summary>Why <paramref name="text"/> is no acceptable target URL (its form only), or null with the URL.</summary>
    public static (Uri? Url, string? Error) Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > 2048 || !Uri.TryCreate(text, UriKind.Absolute, out var url))
        {
            return (null, "An absolute http or https URL of at most 2048 characters.");
        }

        if (url.Scheme is not ("https" or "http") || url.UserInfo.Length > 0 || url.Fragment.Length > 0 || url.Host.Length == 0)
        {
            return (null, "An http or https URL without user information or fragment.");
        }

        return (url, null);
    }

    /// <summary>
    /// Why the target's host is refused (a name that does not resolve, or an address that is not public), or null. With
    /// <paramref name="allowPrivate"/> only the form and the resolution are checked.
    /// </summary>
    public static async Task<string?> CheckHostAsync(Uri url, bool allowPrivate, TimeSpan timeout, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(url.DnsSafeHost, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                bounded.CancelAfter(timeout);
                addresses = await Dns.GetHostAddressesAsync(url.DnsSafeHost, bounded.Token);
            }
            // ArgumentException: a name the resolver will not take (over 255 characters, a label over 63), which Uri accepts.
            catch (Exception ex) when (ex is SocketException or ArgumentException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                return $"The host {url.DnsSafeHost} does not resolve.";
            }
        }

        if (addresses.Length == 0)
        {
            return $"The host {url.DnsSafeHost} does not resolve.";
        }

        if (allowPrivate)
        {
            return null;
        }

        foreach (var address in addresses)
        {
            if (Refusal(address) is { } why)
            {
                return $"The host {url.DnsSafeHost} is {why} ({address}); webhooks go to public addresses only.";
            }
        }

        return null;
    }

    /// <summary>A new signing secret in the Standard Webhooks form: <c>whsec_</c> and the base64 of 32 random bytes.</summary>
    public static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
}
