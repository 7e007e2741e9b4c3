using System.Collections.Immutable;
using MediaService.Grains.Interfaces;

namespace MediaService.Grains.Domain;

/// <summary>
/// What S3 must assemble for a completing item: the grain's own record of the parts, so that S3 assembles exactly
/// what the grain accepted, whoever wrote them.
/// </summary>
/// <param name="StorageKey">The final object's key.</param>
/// <param name="UploadId">The S3 multipart upload.</param>
/// <param name="Parts">The recorded parts, in ascending number.</param>
/// <param name="Size">Bytes the object must hold.</param>
public sealed record CompletionPlan(string StorageKey, string UploadId, ImmutableArray<UploadedPart> Parts, long Size);

/// <summary>What the store holds at a completing item's key.</summary>
public enum CompletionCheck
{
    /// <summary>Exactly the object the recorded parts make (its size, and its multipart ETag where the store gives one).</summary>
    Assembled,

    /// <summary>No object yet.</summary>
    Missing,

    /// <summary>An object that is not the recorded parts' (another size or another multipart ETag).</summary>
    Wrong,
}
