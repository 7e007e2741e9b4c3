namespace MediaService.Grains.Interfaces;

/// <summary>The facet processing attempts report to: an attempt runs off the grain's turn and tells the item how it ended.</summary>
[Alias("MediaService.IMediaProcessingReports")]
public interface IMediaProcessingReports : IGrainWithIntegerKey
{
    /// <summary>
    /// A processing attempt reports. Applied only when it is the item's current attempt and the item still waits for
    /// it; otherwise ignored (the attempt was superseded, for example after its silo died). Returns true when applied,
    /// so that a superseded attempt deletes what it wrote.
    /// </summary>
    [Alias("CompleteProcessing")]
    Task<bool> CompleteProcessingAsync(ProcessingReport report);
}
