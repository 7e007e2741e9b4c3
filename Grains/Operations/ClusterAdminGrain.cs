using System.Collections.Immutable;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Configuration;
using Orleans.Runtime;

namespace MediaService.Grains.Operations;

/// <summary>
/// Builds <see cref="ClusterView"/>: the membership table through the management grain, and each active silo's load
/// from that silo's <see cref="ISiloLoadService"/>, asked in parallel with a short timeout (a silo that does not
/// answer is listed without its load rather than holding the view up).
/// </summary>
[StatelessWorker]
public sealed class ClusterAdminGrain(ISiloLoadClient loads, IOptions<ClusterOptions> cluster, TimeProvider time) : Grain, IClusterAdminGrain
{
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(5);

    public async Task<ClusterView> GetClusterAsync(bool includeDead)
    {
        var hosts = await GrainFactory.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: false);
        var silos = await Task.WhenAll(hosts
            .Where(h => includeDead || h.Status != SiloStatus.Dead)
            .OrderBy(h => h.StartTime)
            .Select(async h => new SiloView(
                h.SiloAddress.ToParsableString(),
                h.SiloName ?? h.HostName ?? "",
                h.Status.ToString(),
                Utc(h.StartTime),
                Utc(h.IAmAliveTime),
                h.Status == SiloStatus.Active ? await LoadAsync(h.SiloAddress) : null)));
        return new ClusterView(time.GetUtcNow(), cluster.Value.ClusterId, [.. silos]);
    }

    private async Task<SiloLoad?> LoadAsync(SiloAddress silo)
    {
        try
        {
            return await loads.On(silo).GetLoadAsync().WaitAsync(LoadTimeout);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            return null;
        }
    }

    private static DateTimeOffset? Utc(DateTime at) =>
        at == default ? null : new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc));
}
