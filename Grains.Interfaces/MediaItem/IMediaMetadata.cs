namespace MediaService.Grains.Interfaces;

/// <summary>The metadata facet of a media item: its view, its annotations, and its deletion.</summary>
[Alias("MediaService.IMediaMetadata")]
public interface IMediaMetadata : IGrainWithIntegerKey
{
    /// <summary>The item's metadata, or null when no item exists under this id. Answered from the last durable state,
    /// also while a long call (an assembly in S3) is in progress.</summary>
    [Alias("GetMetadata")]
    [Orleans.Concurrency.AlwaysInterleave]
    Task<MediaItemView?> GetMetadataAsync();

    /// <summary>The item's metadata re-read from PostgreSQL rather than from the activation's memory (which always
    /// equals it: every change is written before it is answered). For comparison and diagnosis.</summary>
    [Alias("GetMetadataFromStorage")]
    Task<MediaItemView?> GetMetadataFromStorageAsync();

    /// <summary>Applies a merge patch to the item's annotations; with <paramref name="expectedVersion"/>, only if the item
    /// is still at that version (otherwise <see cref="MediaErrorCode.PreconditionFailed"/>).</summary>
    [Alias("Annotate")]
    Task<MediaItemView> AnnotateAsync(AnnotationsPatch patch, long? expectedVersion);

    /// <summary>Deletes the item, its objects in S3 and its index entry; with <paramref name="expectedVersion"/>, only if
    /// the item is still at that version.</summary>
    [Alias("Delete")]
    Task DeleteAsync(long? expectedVersion);
}
