using System.Collections.Immutable;

namespace MediaService.Grains.Interfaces;

/// <summary>What one silo carries right now, as it reports it.</summary>
/// <param name="Activations">Grain activations on the silo (every type).</param>
/// <param name="MediaItems">Media item grains active on the silo.</param>
/// <param name="UploadsInProgress">Unfinished uploads whose grain is active on the silo.</param>
/// <param name="ProcessingQueued">Processing attempts waiting for one of the silo's slots.</param>
/// <param name="ProcessingRunning">Processing attempts running on the silo.</param>
/// <param name="Clients">Orleans clients (frontends) connected to the silo's gateway.</param>
[GenerateSerializer, Immutable, Alias("MediaService.SiloLoad")]
public sealed record SiloLoad(
    [property: Id(0)] int Activations,
    [property: Id(1)] int MediaItems,
    [property: Id(2)] long UploadsInProgress,
    [property: Id(3)] int ProcessingQueued,
    [property: Id(4)] int ProcessingRunning,
    [property: Id(5)] int Clients = 0);

/// <summary>One member of the cluster as the membership table has it, with its load when it is active.</summary>
/// <param name="Address">Silo endpoint and generation (<c>S127.0.0.1:11111:123456</c>).</param>
/// <param name="Name">The silo's name (host name or pod name).</param>
/// <param name="Status">Joining, Active, ShuttingDown, Stopping or Dead.</param>
/// <param name="StartedAt">When the silo started.</param>
/// <param name="LastAliveAt">When the silo last wrote that it is alive.</param>
/// <param name="Load">What it carries (null when it is not active or did not answer).</param>
[GenerateSerializer, Immutable, Alias("MediaService.SiloView")]
public sealed record SiloView(
    [property: Id(0)] string Address,
    [property: Id(1)] string Name,
    [property: Id(2)] string Status,
    [property: Id(3)] DateTimeOffset? StartedAt,
    [property: Id(4)] DateTimeOffset? LastAliveAt,
    [property: Id(5)] SiloLoad? Load);

/// <summary>The cluster at one moment.</summary>
[GenerateSerializer, Immutable, Alias("MediaService.ClusterView")]
public sealed record ClusterView(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string ClusterId,
    [property: Id(2)] ImmutableArray<SiloView> Silos);

/// <summary>Operators' view of the cluster: membership, and what each active silo carries (asked of every silo).</summary>
[Alias("MediaService.IClusterAdminGrain")]
public interface IClusterAdminGrain : IGrainWithIntegerKey
{
    /// <summary>Every silo the membership table knows (dead ones only when <paramref name="includeDead"/>), with its load.</summary>
    [Alias("GetCluster")]
    Task<ClusterView> GetClusterAsync(bool includeDead);
}
