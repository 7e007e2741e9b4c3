namespace MediaService.Grains.Interfaces;

/// <summary>
/// One media item, keyed by its public id (a random positive integer below 2^53). The grain owns the
/// item's upload state and decides what may be written; the bytes themselves travel from the HTTP edge
/// straight to S3 and never through this grain. Its contract is split into facets, one per kind of caller, all implemented
/// by one grain: <see cref="IMediaUpload"/>, <see cref="IMediaMetadata"/>, <see cref="IMediaServing"/> and
/// <see cref="IMediaProcessingReports"/>. Every method keeps the alias it had in <see cref="IUploadGrain"/>, the contract
/// before the facets, which the grain still serves for callers of the previous release.
/// </summary>
[Alias("MediaService.IMediaItemGrain")]
public interface IMediaItemGrain : IMediaUpload, IMediaMetadata, IMediaServing, IMediaProcessingReports
{
    /// <summary>Leaves memory once idle (a shard move drains the items of its shard): the next call activates the item
    /// again from its database.</summary>
    [Alias("Drain")]
    [Orleans.Concurrency.AlwaysInterleave]
    Task DrainAsync();
}
