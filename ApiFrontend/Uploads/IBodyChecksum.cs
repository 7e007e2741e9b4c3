namespace MediaService.ApiFrontend.Uploads;

/// <summary>
/// A digest a body must match, fed by the writer as the bytes arrive. The writer needs only these two calls; which
/// header announced the checksum and how it is parsed is the protocol's business (tus: <c>Upload-Checksum</c>).
/// </summary>
public interface IBodyChecksum
{
    /// <summary>Feeds bytes of the body.</summary>
    void Append(byte[] buffer, int offset, int count);

    /// <summary>True when the body's digest is the announced one.</summary>
    bool Matches();
}
