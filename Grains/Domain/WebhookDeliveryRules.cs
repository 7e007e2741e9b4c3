namespace MediaService.Grains.Domain;

/// <summary>What an attempt's answer means for its delivery.</summary>
public enum DeliveryVerdict
{
    /// <summary>A 2xx: done.</summary>
    Delivered,

    /// <summary>A failure with attempts left: tried again later.</summary>
    Retry,

    /// <summary>A failure with no attempts left: the delivery has failed.</summary>
    Exhausted,

    /// <summary>410 Gone: the receiver asks for no more; the subscription is disabled.</summary>
    Gone,
}

/// <summary>An attempt's answer: a status, or none (timeout, refused connection, refused target) with the error.</summary>
public sealed record AttemptAnswer(int? StatusCode, string? Error, TimeSpan? RetryAfter = null);

/// <summary>The decision on a delivery after an attempt.</summary>
public sealed record DeliveryDecision(DeliveryVerdict Verdict, DateTimeOffset? NextAttemptAt, string? Error);

/// <summary>
/// How webhook deliveries are judged and retried, as Standard Webhooks advises: 2xx is success; 3xx is a failure
/// (redirects are not followed); 410 disables the endpoint; 429, 502, 503 and 504 are tried again no sooner than their
/// Retry-After (capped at an hour); every other failure is tried again on the schedule, 4xx included (a receiver in the
/// middle of a secret rotation answers 401 for a while, which should heal). Pure, for unit tests.
/// </summary>
public static class WebhookDeliveryRules
{
    /// <summary>The longest Retry-After honoured.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(1);

    /// <summary>Judges an attempt. A manual redelivery gets no retries.</summary>
    /// <param name="answer">What the receiver answered, or why there was no answer.</param>
    /// <param name="attempt">The attempt's number, from 1.</param>
    /// <param name="manual">An owner's redelivery.</param>
    /// <param name="schedule">The waits after each failed attempt.</param>
    /// <param name="now">Now.</param>
    /// <param name="jitter">A number in [0, 1): the wait is the schedule's times 0.8 to 1.2.</param>
    public static DeliveryDecision Decide(AttemptAnswer answer, int attempt, bool manual, IReadOnlyList<TimeSpan> schedule, DateTimeOffset now, double jitter)
    {
        if (answer.StatusCode is >= 200 and < 300)
        {
            return new DeliveryDecision(DeliveryVerdict.Delivered, null, null);
        }

        var error = answer.Error ?? answer.StatusCode switch
        {
            >= 300 and < 400 => $"The receiver answered {answer.StatusCode}; redirects are not followed (update the subscription's URL).",
            { } code => $"The receiver answered {code}.",
            null => "No answer.",
        };
        if (answer.StatusCode == 410)
        {
            return new DeliveryDecision(DeliveryVerdict.Gone, null, error);
        }

        if (manual || attempt > schedule.Count)
        {
            return new DeliveryDecision(DeliveryVerdict.Exhausted, null, error);
        }

        var wait = schedule[attempt - 1] * (0.8 + 0.4 * jitter);
        if (answer.StatusCode is 429 or 502 or 503 or 504 && answer.RetryAfter is { } retryAfter)
        {
            wait = TimeSpan.FromTicks(Math.Max(wait.Ticks, Math.Min(retryAfter.Ticks, MaxRetryAfter.Ticks)));
        }

        return new DeliveryDecision(DeliveryVerdict.Retry, now + wait, error);
    }

    /// <summary>True when a subscription whose delivery just ran out of attempts is to be disabled: nothing reached the
    /// receiver for <paramref name="disableAfter"/> (one poisoned event on a healthy endpoint does not disable it).</summary>
    public static bool Disables(DateTimeOffset? lastSuccessAt, DateTimeOffset createdAt, DateTimeOffset now, TimeSpan disableAfter) =>
        now - (lastSuccessAt ?? createdAt) >= disableAfter;
}
