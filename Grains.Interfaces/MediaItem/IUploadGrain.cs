namespace MediaService.Grains.Interfaces;

/// <summary>
/// The media item's contract as it was before its facets (<see cref="IMediaItemGrain"/>), kept word for word in its
/// aliases so that calls made by a frontend or silo of the previous release still reach the item during a rolling
/// upgrade: Orleans names a call by the interface that declares its method, and the methods now live in the facets.
/// The same grain serves both. New code calls the facets; this goes once no process of the previous release runs.
/// Upgrade the silos first, then the frontends (a new frontend calls the facets, which a silo of the previous release
/// does not know).
/// </summary>
[Alias("MediaService.IUploadGrain")]
public interface IUploadGrain : IGrainWithIntegerKey
{
    /// <inheritdoc cref="IMediaUpload.CreateAsync"/>
    [Alias("Create")]
    Task<CreateMediaItemResult> CreateAsync(CreateMediaItem request);

    /// <inheritdoc cref="IMediaUpload.BeginAppendAsync"/>
    [Alias("BeginAppend")]
    Task<AppendGrant> BeginAppendAsync(BeginAppend request);

    /// <inheritdoc cref="IMediaUpload.FenceWritersAsync"/>
    [Alias("FenceWriters")]
    Task<MediaItemView?> FenceWritersAsync();

    /// <inheritdoc cref="IMediaUpload.OpenMultipartAsync"/>
    [Alias("OpenMultipart")]
    Task<MultipartTarget> OpenMultipartAsync(long lease);

    /// <inheritdoc cref="IMediaUpload.ReservePartsAsync"/>
    [Alias("ReserveParts")]
    Task<int> ReservePartsAsync(long lease, int count);

    /// <inheritdoc cref="IMediaUpload.RecordPartAsync"/>
    [Alias("RecordPart")]
    [ResponseTimeout("00:15:00")]
    Task<AppendProgress> RecordPartAsync(RecordPart request);

    /// <inheritdoc cref="IMediaUpload.RecordTailAsync"/>
    [Alias("RecordTail")]
    Task<long> RecordTailAsync(RecordTail request);

    /// <inheritdoc cref="IMediaUpload.RecordSinglePutAsync"/>
    [Alias("RecordSinglePut")]
    Task<MediaItemView> RecordSinglePutAsync(RecordSinglePut request);

    /// <inheritdoc cref="IMediaUpload.CommitAsync"/>
    [Alias("Commit")]
    [ResponseTimeout("00:15:00")]
    Task<AppendProgress> CommitAsync(long lease);

    /// <inheritdoc cref="IMediaUpload.FinishCompletionAsync"/>
    [Alias("FinishCompletion")]
    [ResponseTimeout("00:15:00")]
    Task<MediaItemView?> FinishCompletionAsync();

    /// <inheritdoc cref="IMediaUpload.AbandonAsync"/>
    [Alias("Abandon")]
    Task AbandonAsync(long lease, string reason);

    /// <inheritdoc cref="IMediaUpload.TerminateAsync"/>
    [Alias("Terminate")]
    Task TerminateAsync();

    /// <inheritdoc cref="IMediaMetadata.GetMetadataAsync"/>
    [Alias("GetMetadata")]
    [Orleans.Concurrency.AlwaysInterleave]
    Task<MediaItemView?> GetMetadataAsync();

    /// <inheritdoc cref="IMediaMetadata.GetMetadataFromStorageAsync"/>
    [Alias("GetMetadataFromStorage")]
    Task<MediaItemView?> GetMetadataFromStorageAsync();

    /// <inheritdoc cref="IMediaItemGrain.DrainAsync"/>
    [Alias("Drain")]
    [Orleans.Concurrency.AlwaysInterleave]
    Task DrainAsync();

    /// <inheritdoc cref="IMediaServing.GetStoredContentAsync"/>
    [Alias("GetStoredContent")]
    [Orleans.Concurrency.AlwaysInterleave]
    Task<StoredContent?> GetStoredContentAsync();

    /// <inheritdoc cref="IMediaMetadata.AnnotateAsync"/>
    [Alias("Annotate")]
    Task<MediaItemView> AnnotateAsync(AnnotationsPatch patch, long? expectedVersion);

    /// <inheritdoc cref="IMediaMetadata.DeleteAsync"/>
    [Alias("Delete")]
    Task DeleteAsync(long? expectedVersion);

    /// <inheritdoc cref="IMediaServing.GetRenditionAsync"/>
    [Alias("GetRendition")]
    [Orleans.Concurrency.AlwaysInterleave]
    Task<StoredContent?> GetRenditionAsync(string name);

    /// <inheritdoc cref="IMediaProcessingReports.CompleteProcessingAsync"/>
    [Alias("CompleteProcessing")]
    Task<bool> CompleteProcessingAsync(ProcessingReport report);
}
