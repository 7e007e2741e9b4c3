using MediaService.Grains.Interfaces;

namespace MediaService.Grains.Processing;

/// <summary>A rendition written to the job's folder, to be stored in S3.</summary>
public sealed record RenditionFile(string Name, string Path, string ContentType, int? Width, int? Height);

/// <summary>What a processor found and made.</summary>
public sealed record ProcessedMedia(MediaFacts Facts, IReadOnlyList<RenditionFile> Files);

/// <summary>The content is not acceptable (type, corruption, limits): the item ends rejected with this reason.</summary>
public sealed class MediaRejectedException(string reason, MediaFacts? facts = null, Exception? inner = null) : Exception(reason, inner)
{
    /// <summary>What was learned before the rejection.</summary>
    public MediaFacts? Facts { get; } = facts;
}

/// <summary>Processing cannot succeed for this item (retrying would not help): the item ends failed with this reason.</summary>
public sealed class ProcessingFailedException(string reason, Exception? inner = null) : Exception(reason, inner);

/// <summary>Times the steps of one attempt, for its report (and so the metadata shows where the time went).</summary>
public sealed class ProcessingSteps
{
    private readonly List<ProcessingStep> _steps = [];

    /// <summary>The steps timed so far.</summary>
    public System.Collections.Immutable.ImmutableArray<ProcessingStep> All
    {
        get
        {
            lock (_steps)
            {
                return [.. _steps];
            }
        }
    }

    /// <summary>Starts timing a step; disposing the result ends it.</summary>
    public IDisposable Step(string name) => new Timing(this, name, System.Diagnostics.Stopwatch.GetTimestamp());

    private sealed class Timing(ProcessingSteps owner, string name, long started) : IDisposable
    {
        public void Dispose()
        {
            var seconds = Math.Round(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, 3);
            lock (owner._steps)
            {
                owner._steps.Add(new ProcessingStep(name, seconds));
            }
        }
    }
}
