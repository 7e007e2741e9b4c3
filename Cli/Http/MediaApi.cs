using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;

namespace MediaService.Cli.Http;

/// <summary>
/// The service's HTTP API as the commands use it: every request carries the key, and a request that failed on the
/// network, or was answered 5xx, 429 or 423, is sent again after a backoff that honours <c>Retry-After</c>, at most
/// <see cref="ServiceSettings.Retries"/> times; after that the command ends with exit code 5.
/// </summary>
public sealed class MediaApi : IDisposable
{
    /// <summary>The longest wait between two attempts, whatever <c>Retry-After</c> says.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(60);

    /// <summary>How long a request without a large body may take before it counts as a network failure.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(100);

    private readonly HttpClient _http;

    public MediaApi(ServiceSettings settings)
    {
        Settings = settings;
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false,
        })
        {
            BaseAddress = settings.BaseUrl,
            // Bodies of many MiB go through this client: each call bounds its own time.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", settings.Key);
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("media-cli", typeof(MediaApi).Assembly.GetName().Version?.ToString(3)));
    }

    /// <summary>Where and as whom.</summary>
    public ServiceSettings Settings { get; }

    /// <summary>An absolute URL of the service for a path or URL the service answered (relative or absolute).</summary>
    public Uri Resolve(string pathOrUrl) => new(Settings.BaseUrl, pathOrUrl);

    /// <summary>
    /// Sends the request <paramref name="make"/> builds (once per attempt), retrying network failures and 5xx/429/423.
    /// Returns the last answer, success or not, unless it is still one to retry after the last attempt (exit code 5).
    /// </summary>
    /// <param name="make">Builds a fresh request for each attempt.</param>
    /// <param name="what">What the request is for, for messages ("upload photo.jpg").</param>
    /// <param name="completion">ResponseHeadersRead to stream the answer.</param>
    /// <param name="timeout">Bound on the attempt until its answer (headers, or the whole body); default <see cref="RequestTimeout"/>.</param>
    /// <param name="cancellationToken">Ctrl-C.</param>
    public async Task<HttpResponseMessage> SendAsync(
        Func<HttpRequestMessage> make, string what, CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead, TimeSpan? timeout = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            TimeSpan? retryAfter = null;
            string failure;
            using (var request = make())
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                deadline.CancelAfter(timeout ?? RequestTimeout);
                HttpResponseMessage response;
                try
                {
                    response = await _http.SendAsync(request, completion, deadline.Token);
                }
                catch (Exception ex) when (IsNetworkFailure(ex, cancellationToken))
                {
                    failure = Unreachable(ex);
                    goto Retry;
                }

                if (!IsRetryable(response.StatusCode))
                {
                    return response;
                }

                retryAfter = RetryAfterOf(response);
                var problem = await ProblemOf(response, cancellationToken);
                failure = $"{what}: {Status(response)}{(problem is null ? "" : ": " + problem)}";
                if (attempt >= Settings.Retries)
                {
                    response.Dispose();
                    throw new CliException(ExitCodes.Unavailable, $"{failure} (after {Attempts(attempt + 1)})");
                }

                response.Dispose();
            }

        Retry:
            if (attempt >= Settings.Retries)
            {
                throw new CliException(ExitCodes.Unavailable, $"{what}: {failure} (after {Attempts(attempt + 1)})");
            }

            await Task.Delay(Backoff(attempt, retryAfter), cancellationToken);
        }
    }

    /// <summary>Sends one request, without retries (the tus upload loop retries from the service's offset instead).
    /// Network failures are thrown as they come: <see cref="IsNetworkFailure"/> tells them apart.</summary>
    public async Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token);
    }

    /// <summary>Describes a network failure for a message.</summary>
    public string Unreachable(Exception ex) => $"cannot reach {Settings.BaseUrl.GetLeftPart(UriPartial.Authority)}: {Describe(ex)}";

    /// <summary>Sends a request and reads a JSON answer; anything but 2xx becomes a <see cref="CliException"/>.</summary>
    public async Task<JsonElement> SendJsonAsync(Func<HttpRequestMessage> make, string what, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(make, what, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, what, cancellationToken);
        }

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
        return document.RootElement.Clone();
    }

    /// <summary>The delay before attempt <paramref name="attempt"/> + 1: 0.5 s doubling up to 30 s with jitter, or the
    /// server's <c>Retry-After</c> (at most <see cref="MaxDelay"/>).</summary>
    public static TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        if (retryAfter is { } after)
        {
            return after < TimeSpan.Zero ? TimeSpan.Zero : after > MaxDelay ? MaxDelay : after;
        }

        var seconds = Math.Min(30, 0.5 * Math.Pow(2, attempt));
        return TimeSpan.FromSeconds(seconds * (0.8 + (0.4 * Random.Shared.NextDouble())));
    }

    /// <summary>Statuses worth another attempt: the service is busy or briefly unable (tus HEAD answers 423 while it
    /// assembles an upload).</summary>
    public static bool IsRetryable(HttpStatusCode status) =>
        (int)status >= 500 || status is HttpStatusCode.TooManyRequests or HttpStatusCode.Locked or HttpStatusCode.RequestTimeout;

    /// <summary>An exception of the connection (refused, reset, timed out), not a cancellation by the user.</summary>
    public static bool IsNetworkFailure(Exception ex, CancellationToken user) =>
        ex is HttpRequestException or IOException or SocketException
        || (ex is OperationCanceledException && !user.IsCancellationRequested);

    /// <summary>The server's <c>Retry-After</c>, as seconds or a date.</summary>
    public static TimeSpan? RetryAfterOf(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow,
        _ => null,
    };

    /// <summary>The failure an answer means, with the problem detail's title and detail when the server sent one.</summary>
    public static async Task<CliException> ErrorAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        var (problem, code) = await ProblemWithCodeAsync(response, cancellationToken);
        var exit = response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => ExitCodes.Auth,
            HttpStatusCode.Forbidden when code is "quota-exceeded" or "link-invalid" => ExitCodes.Failure,
            HttpStatusCode.Forbidden => ExitCodes.Auth,
            HttpStatusCode.NotFound or HttpStatusCode.Gone => ExitCodes.NotFound,
            _ when IsRetryable(response.StatusCode) => ExitCodes.Unavailable,
            _ => ExitCodes.Failure,
        };
        return new CliException(exit, $"{what}: {Status(response)}{(problem is null ? "" : ": " + problem)}");
    }

    public void Dispose() => _http.Dispose();

    /// <summary>"1 attempt", "3 attempts".</summary>
    public static string Attempts(int n) => n == 1 ? "1 attempt" : $"{n} attempts";

    private static async Task<string?> ProblemOf(HttpResponseMessage response, CancellationToken cancellationToken) =>
        (await ProblemWithCodeAsync(response, cancellationToken)).Text;

    // RFC 9457: "title: detail", and the service's stable code.
    private static async Task<(string? Text, string? Code)> ProblemWithCodeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentType?.MediaType is not ("application/problem+json" or "application/json"))
        {
            return (null, null);
        }

        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            string? Field(string name) => root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var title = Field("title");
            var detail = Field("detail");
            var summary = (title, detail) switch
            {
                (null, null) => null,
                (null, _) => detail,
                (_, null) => title,
                _ => $"{title}: {detail}",
            };
            return (summary, Field("code"));
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    private static string Status(HttpResponseMessage response) => $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd();

    private static string Describe(Exception ex)
    {
        if (ex is OperationCanceledException)
        {
            return "no answer in time";
        }

        var inner = ex;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        return inner.Message;
    }
}
