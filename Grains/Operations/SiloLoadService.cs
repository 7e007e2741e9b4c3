using MediaService.DataPlane.Telemetry;
using MediaService.Grains.Interfaces;
using MediaService.Grains.Processing;
using Microsoft.Extensions.Logging;
using Orleans.Runtime.Services;
using Orleans.Services;

namespace MediaService.Grains.Operations;

/// <summary>One per silo: reports what the silo carries (<see cref="SiloLoad"/>).</summary>
[Alias("MediaService.ISiloLoadService")]
public interface ISiloLoadService : IGrainService
{
    /// <summary>This silo's load now.</summary>
    [Alias("GetLoad")]
    Task<SiloLoad> GetLoadAsync();
}

/// <summary>Reaches the <see cref="ISiloLoadService"/> of a given silo.</summary>
public interface ISiloLoadClient : IGrainServiceClient<ISiloLoadService>
{
    /// <summary>The service on <paramref name="silo"/>.</summary>
    ISiloLoadService On(SiloAddress silo);
}

public sealed class SiloLoadService(GrainId id, Silo silo, ILoggerFactory loggerFactory, MediaMetrics metrics, MediaProcessor processing)
    : GrainService(id, silo, loggerFactory), ISiloLoadService
{
    // Activations and connected clients come from Orleans' runtime statistics, asked for every silo at once by
    // ClusterAdminGrain; this service adds what only the silo itself counts.
    public Task<SiloLoad> GetLoadAsync() => Task.FromResult(new SiloLoad(
        Activations: 0,
        MediaItems: (int)metrics.ActiveMediaItems,
        UploadsInProgress: metrics.ActiveUploads,
        ProcessingQueued: processing.Queued,
        ProcessingRunning: processing.Running));
}

public sealed class SiloLoadClient(IServiceProvider services) : GrainServiceClient<ISiloLoadService>(services), ISiloLoadClient
{
    public ISiloLoadService On(SiloAddress silo) => GetGrainService(silo);
}

/// <summary>This silo's view of its peers.</summary>
public sealed class SiloPeers(IClusterMembershipService membership, ILocalSiloDetails local)
{
    /// <summary>True when another silo is an active member: somewhere for this silo's grains to move to.</summary>
    public bool AnyOtherActive() =>
        membership.CurrentSnapshot.Members.Values.Any(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(local.SiloAddress));
}
