namespace MediaService.ApiFrontend.Uploads;

/// <summary>The body carried more bytes than the upload's length allows; nothing beyond the length was stored.</summary>
public sealed class BeyondLengthException(long length) : Exception($"The body goes past the upload's length of {length} bytes.")
{
    /// <summary>The upload's length.</summary>
    public long Length { get; } = length;
}
