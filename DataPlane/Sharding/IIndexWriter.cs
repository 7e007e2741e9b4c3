namespace MediaService.DataPlane.Sharding;

/// <summary>What an item's grain needs of the search index: write its row, or remove it. Rows carry the item's version,
/// so a late or repeated write never goes back in time.</summary>
public interface IIndexWriter
{
    /// <summary>Writes an item's row unless the index holds this version or a newer one; false when it did not write.</summary>
    Task<bool> UpsertAsync(string serviceId, IndexEntry entry, CancellationToken cancellationToken);

    /// <summary>Removes an item's row; false when there was none.</summary>
    Task<bool> DeleteAsync(string serviceId, long mediaId, CancellationToken cancellationToken);
}
