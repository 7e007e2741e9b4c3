namespace MediaService.Grains.Interfaces;

/// <summary>The serving facet of a media item: where its stored bytes and renditions are in S3, for the HTTP edge to stream.</summary>
[Alias("MediaService.IMediaServing")]
public interface IMediaServing : IGrainWithIntegerKey
{
    /// <summary>Where the stored bytes are, or null when the item does not exist or is not stored.</summary>
    [Alias("GetStoredContent")]
    [Orleans.Concurrency.AlwaysInterleave]
    Task<StoredContent?> GetStoredContentAsync();

    /// <summary>Where a generated rendition is, or null when the item has no rendition of that name.</summary>
    [Alias("GetRendition")]
    [Orleans.Concurrency.AlwaysInterleave]
    Task<StoredContent?> GetRenditionAsync(string name);
}
