namespace MediaService.DataPlane;

/// <summary>Where an item's objects live in the bucket: one naming rule for the grains and the edge.</summary>
public static class MediaKeys
{
    /// <summary>The key of an item's original bytes.</summary>
    public static string Original(long id) => $"media/{id}/original";

    /// <summary>The prefix of an item's tail objects (bytes after its last part, under the part minimum).</summary>
    public static string TailPrefix(long id) => $"media/{id}/tail/";
}
