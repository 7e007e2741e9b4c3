using System.Collections.Immutable;
using MediaService.Grains.Interfaces;

namespace MediaService.Grains.Domain;

/// <summary>The persisted processing of one item. Immutable; never reorder or reuse an <see cref="IdAttribute"/>.</summary>
[GenerateSerializer, Immutable, Alias("MediaService.ProcessingState")]
public sealed record ProcessingState
{
    [Id(0)] public ProcessingStatus Status { get; init; }

    /// <summary>The current attempt's number (from 1). Only this attempt may report.</summary>
    [Id(1)] public int Attempt { get; init; }

    /// <summary>When processing began (the first attempt).</summary>
    [Id(2)] public DateTimeOffset StartedAt { get; init; }

    /// <summary>When the current attempt began.</summary>
    [Id(3)] public DateTimeOffset AttemptStartedAt { get; init; }

    /// <summary>When an attempt that ended in a transient error may be followed by the next; null while one runs.</summary>
    [Id(4)] public DateTimeOffset? NextAttemptAt { get; init; }

    [Id(5)] public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Why it was rejected or failed; while retrying, the last transient error.</summary>
    [Id(6)] public string? Reason { get; init; }

    [Id(7)] public MediaFacts? Facts { get; init; }

    [Id(8)] public ImmutableArray<Rendition> Renditions { get; init; } = [];

    /// <summary>How long each step of the last reported attempt took.</summary>
    [Id(9)] public ImmutableArray<ProcessingStep> Steps { get; init; } = [];

    /// <summary>True while the item waits for an attempt's report or for its next attempt.</summary>
    public bool Pending => Status == ProcessingStatus.Processing;
}

/// <summary>How many attempts processing gets and how long it waits between them.</summary>
/// <param name="MaxAttempts">Attempts before giving up (transient errors and lost attempts both count).</param>
/// <param name="RetryDelay">The wait after the first transient error; doubled after each further one.</param>
/// <param name="MaxRetryDelay">The longest wait between attempts.</param>
public sealed record ProcessingPolicy(int MaxAttempts, TimeSpan RetryDelay, TimeSpan MaxRetryDelay);

/// <summary>
/// The rules of processing, pure so that unit tests drive them: processing starts exactly once, when the item becomes
/// stored; an attempt's report counts only if it is the current attempt and the item still waits for it; transient
/// errors are retried with backoff up to a bound; a lost attempt (its silo died) is replaced by a new one.
/// </summary>
public static class MediaProcessingRules
{
    /// <summary>Starts processing a just-stored item: attempt 1. Part of the write that marks it stored.</summary>
    public static MediaItemState Start(MediaItemState state, DateTimeOffset now) =>
        state.Status != MediaStatus.Stored || state.Processing is not null
            ? state
            : state with { Processing = new ProcessingState { Status = ProcessingStatus.Processing, Attempt = 1, StartedAt = now, AttemptStartedAt = now } };

    /// <summary>True when processing waits and no attempt should still be running: the next one may start.</summary>
    public static bool IsDue(MediaItemState state, DateTimeOffset now) =>
        state is { Status: MediaStatus.Stored, Processing: { Pending: true } p } && (p.NextAttemptAt is not { } next || next <= now);

    /// <summary>
    /// Replaces the current attempt by the next (the last one ended in a transient error, or was lost with its silo);
    /// gives up, as failed, once the attempts are spent.
    /// </summary>
    public static MediaItemState NextAttempt(MediaItemState state, ProcessingPolicy policy, DateTimeOffset now)
    {
        if (state is not { Status: MediaStatus.Stored, Processing: { Pending: true } p })
        {
            return state;
        }

        if (p.Attempt >= policy.MaxAttempts)
        {
            var last = p.Reason is null ? "attempts were lost (their silos stopped)" : $"last error: {p.Reason}";
            return Finish(state, p with { Status = ProcessingStatus.Failed, Reason = $"Gave up after {p.Attempt} attempts; {last}." }, now);
        }

        return state with { Processing = p with { Attempt = p.Attempt + 1, AttemptStartedAt = now, NextAttemptAt = null }, UpdatedAt = now };
    }

    /// <summary>
    /// Applies an attempt's report. Returns the state unchanged and false when the report is stale (another attempt
    /// is current, or processing already ended, or the item is gone), so that nothing is ever applied twice.
    /// </summary>
    public static (MediaItemState Next, bool Applied) Apply(
        MediaItemState state, ProcessingReport report, ProcessingPolicy policy, double jitter, DateTimeOffset now)
    {
        if (state is not { Status: MediaStatus.Stored, Processing: { Pending: true } p } || p.Attempt != report.Attempt || p.NextAttemptAt is not null)
        {
            return (state, false);
        }

        p = p with { Steps = report.Steps.IsDefault ? [] : report.Steps };
        var next = report.Outcome switch
        {
            ProcessingOutcome.Ready => Finish(state, p with { Status = ProcessingStatus.Ready, Reason = null, Facts = report.Facts, Renditions = report.Renditions }, now),
            ProcessingOutcome.Rejected => Finish(state, p with { Status = ProcessingStatus.Rejected, Reason = report.Reason, Facts = report.Facts, Renditions = [] }, now),
            ProcessingOutcome.Failed => Finish(state, p with { Status = ProcessingStatus.Failed, Reason = report.Reason, Facts = report.Facts, Renditions = [] }, now),
            _ when p.Attempt >= policy.MaxAttempts =>
                Finish(state, p with { Status = ProcessingStatus.Failed, Reason = $"Gave up after {p.Attempt} attempts; last error: {report.Reason}" }, now),
            _ => state with { Processing = p with { Reason = report.Reason, NextAttemptAt = now + Backoff(p.Attempt, policy, jitter) }, UpdatedAt = now },
        };
        return (next, true);
    }

    /// <summary>The wait after the <paramref name="attempt"/>-th attempt failed transiently: doubling from the policy's
    /// first delay, capped, spread by up to a fifth either way (<paramref name="jitter"/> in [0, 1)).</summary>
    public static TimeSpan Backoff(int attempt, ProcessingPolicy policy, double jitter)
    {
        var doubled = policy.RetryDelay.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt - 1, 0, 30));
        var capped = Math.Min(doubled, policy.MaxRetryDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + (0.4 * jitter)));
    }

    /// <summary>The rendition of that name, when processing is ready.</summary>
    public static Rendition? FindRendition(MediaItemState state, string name) =>
        state is { Status: MediaStatus.Stored, Processing: { Status: ProcessingStatus.Ready } p } ? p.Renditions.FirstOrDefault(r => r.Name == name) : null;

    /// <summary>
    /// The type the original is served with: the type found in its bytes once processing accepted it; until then, and
    /// when rejected, an opaque type (served as an attachment), whatever the client declared.
    /// </summary>
    public static string ServedType(MediaItemState state) =>
        state.Processing is { Status: ProcessingStatus.Ready, Facts.DetectedType: { } detected } ? detected : "application/octet-stream";

    /// <summary>The view of processing in the item's metadata.</summary>
    public static ProcessingView? ToView(ProcessingState? p) =>
        p is null ? null : new ProcessingView(p.Status, p.Attempt, p.Reason, p.StartedAt, p.FinishedAt, p.Facts, p.Renditions, p.Steps);

    private static MediaItemState Finish(MediaItemState state, ProcessingState processing, DateTimeOffset now) =>
        state with { Processing = processing with { FinishedAt = now, NextAttemptAt = null }, UpdatedAt = now };
}
