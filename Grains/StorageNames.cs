namespace MediaService.Grains;

/// <summary>Names shared by grain state declarations and the silo's provider registrations.</summary>
public static class StorageNames
{
    /// <summary>The ADO.NET (PostgreSQL) grain storage that holds every media item's state.</summary>
    public const string Media = "media";

    /// <summary>The state name of <see cref="MediaItemGrain"/>.</summary>
    public const string UploadState = "item";
}
