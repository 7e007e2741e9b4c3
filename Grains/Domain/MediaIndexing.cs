using MediaService.DataPlane;
using MediaService.Grains.Interfaces;

namespace MediaService.Grains.Domain;

/// <summary>What of an item the search index holds, and when a change must reach it.</summary>
public static class MediaIndexing
{
    /// <summary>The item's index row.</summary>
    public static IndexEntry Entry(MediaItemState state, long id) => new(
        id,
        state.Version,
        state.Status.ToString().ToLowerInvariant(),
        state.Processing?.Status.ToString().ToLowerInvariant(),
        state.Processing?.Facts?.Kind is { } kind and not MediaKind.Unknown ? kind.ToString().ToLowerInvariant() : null,
        state.ContentType,
        state.Size,
        state.FileName,
        state.Annotations.Title,
        state.Annotations.Description,
        [.. state.Annotations.Tags],
        [.. state.Annotations.Keywords],
        state.CreatedAt,
        state.UpdatedAt,
        state.Owner ?? string.Empty,
        state.Status == MediaStatus.Receiving ? state.DeclaredLength : null);

    /// <summary>
    /// True when going from <paramref name="before"/> to <paramref name="after"/> changes what the index shows: the
    /// statuses, the kind, the names and annotations, the stored size. Bytes arriving part by part do not.
    /// </summary>
    public static bool Changes(MediaItemState before, MediaItemState after) =>
        before.Status != after.Status
        || before.Processing?.Status != after.Processing?.Status
        || before.Processing?.Facts?.Kind != after.Processing?.Facts?.Kind
        || before.FileName != after.FileName
        || before.ContentType != after.ContentType
        || before.DeclaredLength != after.DeclaredLength
        || !ReferenceEquals(before.Annotations, after.Annotations)
        || (after.Status == MediaStatus.Stored && before.Size != after.Size);
}
