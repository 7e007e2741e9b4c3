using MediaService.Grains.Interfaces;

namespace MediaService.ApiFrontend.Media;

/// <summary>A media item's metadata as the API returns it.</summary>
/// <param name="Id">The item id: a positive integer below 2^53.</param>
/// <param name="FileName">The original file name, if the client gave one.</param>
/// <param name="ContentType">The media type the content is served with.</param>
/// <param name="Size">Bytes stored (or received so far while receiving).</param>
/// <param name="Status">receiving, stored or failed.</param>
/// <param name="CreatedAt">When the item was created.</param>
/// <param name="UpdatedAt">When the item last changed.</param>
/// <param name="Sha256">Hex SHA-256 of the content, once stored.</param>
/// <param name="FailureReason">Why the upload failed, when it did.</param>
/// <param name="Links">Where to read the item.</param>
public sealed record MediaItemResponse(
    long Id,
    string? FileName,
    string ContentType,
    long Size,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string? Sha256,
    string? FailureReason,
    MediaLinks Links)
{
    /// <summary>Maps the grain's view.</summary>
    public static MediaItemResponse From(MediaItemView view) => new(
        view.Id,
        view.FileName,
        view.ContentType,
        view.Size,
        view.Status.ToString().ToLowerInvariant(),
        view.CreatedAt,
        view.UpdatedAt,
        view.Sha256,
        view.FailureReason,
        new MediaLinks($"/media/{view.Id}", $"/media/{view.Id}/metadata", $"/media/{view.Id}/content"));
}

/// <summary>Links of an item.</summary>
public sealed record MediaLinks(string Self, string Metadata, string Content);
