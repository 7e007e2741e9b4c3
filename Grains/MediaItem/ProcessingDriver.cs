using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;
using MediaService.Grains.Processing;

namespace MediaService.Grains;

/// <summary>What a processing check of a waiting item decided.</summary>
internal enum AttemptCheck
{
    /// <summary>Nothing waits, or this activation's attempt is running: nothing to do.</summary>
    None,

    /// <summary>The next attempt is not due yet: check again at <see cref="ProcessingDriver.DueIn"/>.</summary>
    Wait,

    /// <summary>The recorded attempt was lost, or its retry is due: record the next attempt and dispatch it.</summary>
    StartNext,
}

/// <summary>
/// Drives processing of one stored item: hands the item's current attempt to the silo's processing slots (once per
/// activation), notices an attempt that was lost with its silo or stayed silent past the job timeout, and tells the
/// attempt that reports whether it is still this activation's. The rules of what an attempt's report does to the item
/// are <see cref="MediaProcessingRules"/>'; the grain records them.
/// </summary>
internal sealed class ProcessingDriver(long id, IProcessingQueue queue, ProcessingOptions options)
{
    /// <summary>
    /// The attempt this activation handed to the processing slots and has not heard back from, carried along when the
    /// item moves to another silo. A new activation has none, so an attempt recorded in the state without one here was
    /// lost (its silo died or the grain moved).
    /// </summary>
    public int? Running { get; set; }

    /// <summary>How long a <see cref="AttemptCheck.Wait"/> waits.</summary>
    public TimeSpan DueIn { get; private set; }

    /// <summary>Queues the item's current attempt unless this activation already did or none is due; true when it queued
    /// one (the activation must then stay in memory for the job's time).</summary>
    public bool Dispatch(MediaItemState current)
    {
        if (current.Processing is not { Pending: true, NextAttemptAt: null } p || Running == p.Attempt)
        {
            return false;
        }

        Running = p.Attempt;
        queue.Enqueue(new ProcessingJob(id, p.Attempt, current.StorageKey!, current.Size, current.ContentType, current.FileName));
        return true;
    }

    /// <summary>What to do for an item whose processing waits, at <paramref name="now"/>.</summary>
    public AttemptCheck Check(MediaItemState current, DateTimeOffset now)
    {
        if (current.Processing is not { Pending: true } p
            || (Running == p.Attempt && now - p.AttemptStartedAt < options.JobTimeout + options.ReminderPeriod))
        {
            // A job ends, and reports, within the job timeout; one silent for longer lost its report and is replaced.
            return AttemptCheck.None;
        }

        Running = null;
        if (!MediaProcessingRules.IsDue(current, now))
        {
            DueIn = p.NextAttemptAt!.Value - now;
            return AttemptCheck.Wait;
        }

        return AttemptCheck.StartNext;
    }

    /// <summary>An attempt reports: true when it was the one this activation runs (it runs no longer).</summary>
    public bool Reported(int attempt)
    {
        if (Running != attempt)
        {
            return false;
        }

        Running = null;
        return true;
    }
}
