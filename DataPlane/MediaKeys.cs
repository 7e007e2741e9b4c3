namespace MediaService.DataPlane;

/// <summary>Where an item's objects live in the bucket: one naming rule for the grains and the edge.</summary>
public static class MediaKeys
{
    /// <summary>The key of an item's original bytes.</summary>
    public static string Original(long id) => $"media/{id}/original";

    /// <summary>The prefix of an item's tail objects (bytes after its last part, under the part minimum).</summary>
    public static string TailPrefix(long id) => $"media/{id}/tail/";

    /// <summary>The prefix of an item's whole-content objects written in one request, one key per writer's lease: a
    /// superseded writer writes only under its own key, which the item's grain never confirms and deletes.</summary>
    public static string PutPrefix(long id) => $"media/{id}/put/";

    /// <summary>A fresh key under <see cref="PutPrefix"/> for one writer's lease.</summary>
    public static string Put(long id, long lease) => $"{LeasePrefix(PutPrefix(id), lease)}{Guid.NewGuid():N}";

    /// <summary>A fresh tail object key for one writer's lease.</summary>
    public static string Tail(long id, long lease) => $"{LeasePrefix(TailPrefix(id), lease)}{Guid.NewGuid():N}";

    /// <summary>Where the keys of one writer's lease under <paramref name="prefix"/> begin.</summary>
    public static string LeasePrefix(string prefix, long lease) => $"{prefix}{lease:x}-";

    /// <summary>The prefix of every rendition of an item, of any processing attempt.</summary>
    public static string RenditionsPrefix(long id) => $"media/{id}/renditions/";

    /// <summary>The prefix of the renditions one processing attempt writes: attempts never share keys, so a
    /// superseded attempt can never overwrite what the accepted one wrote.</summary>
    public static string RenditionPrefix(long id, int attempt) => $"media/{id}/renditions/{attempt}/";
}
