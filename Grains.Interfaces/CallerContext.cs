namespace MediaService.Grains.Interfaces;

/// <summary>
/// Who is calling, carried with every grain call of a request in Orleans' request context: the frontend sets the
/// authenticated owner, and an item's grain answers only its owner (anyone else is told the item does not exist).
/// Calls made inside the cluster (processing reports, reminders) carry none.
/// </summary>
public static class CallerContext
{
    private const string OwnerKey = "media.owner";

    /// <summary>The calling owner, or null for a call from inside the cluster.</summary>
    public static string? Owner => RequestContext.Get(OwnerKey) as string;

    /// <summary>Sets the calling owner for the grain calls that follow in this asynchronous flow.</summary>
    public static void Set(string owner) => RequestContext.Set(OwnerKey, owner);

    /// <summary>Removes the calling owner: the grain calls that follow act for a share link, not for a key's owner.</summary>
    public static void Clear() => RequestContext.Remove(OwnerKey);
}
