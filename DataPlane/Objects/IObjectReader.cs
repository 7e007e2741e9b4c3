namespace MediaService.DataPlane.Objects;

/// <summary>What serving needs of S3: a byte range of a stored object, streamed.</summary>
public interface IObjectReader
{
    /// <summary>Opens bytes <paramref name="from"/> to <paramref name="to"/> (inclusive) of an object.</summary>
    Task<ObjectRead> OpenReadAsync(string key, long from, long to, CancellationToken cancellationToken);
}
