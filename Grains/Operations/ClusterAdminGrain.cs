using MediaService.Grains.Interfaces;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Configuration;

namespace MediaService.Grains.Operations;

/// <summary>
/// Builds <see cref="ClusterView"/>: the membership table and every active silo's runtime statistics (activations,
/// clients) through the management grain, and what each silo counts itself from its <see cref="ISiloLoadService"/>,
/// asked in parallel with a short timeout (a silo that does not answer is listed without its load rather than holding
/// the view up).
/// </summary>
[StatelessWorker]
public sealed class ClusterAdminGrain(ISiloLoadClient loads, IOptions<ClusterOptions> cluster, TimeProvider time) : Grain, IClusterAdminGrain
{
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(5);

    public async Task<ClusterView> GetClusterAsync(bool includeDead)
    {
        var management = GrainFactory.GetGrain<IManagementGrain>(0);
        var hosts = await management.GetDetailedHosts(onlyActive: false);
        var active = hosts.Where(h => h.Status == SiloStatus.Active).Select(h => h.SiloAddress).ToArray();
        var runtime = await RuntimeAsync(management, active);
        var silos = await Task.WhenAll(hosts
            .Where(h => includeDead || h.Status != SiloStatus.Dead)
            .OrderBy(h => h.StartTime)
            .Select(async h => new SiloView(
                h.SiloAddress.ToParsableString(),
                h.SiloName ?? h.HostName ?? "",
                h.Status.ToString(),
                Utc(h.StartTime),
                Utc(h.IAmAliveTime),
                h.Status == SiloStatus.Active ? await LoadAsync(h.SiloAddress, runtime) : null)));
        return new ClusterView(time.GetUtcNow(), cluster.Value.ClusterId, [.. silos]);
    }

    // Activation and client counts of every active silo in one call (empty when the statistics do not come in time).
    private static async Task<Dictionary<SiloAddress, SiloRuntimeStatistics>> RuntimeAsync(IManagementGrain management, SiloAddress[] silos)
    {
        try
        {
            var statistics = await management.GetRuntimeStatistics(silos).WaitAsync(LoadTimeout);
            return silos.Zip(statistics).ToDictionary(p => p.First, p => p.Second);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            return [];
        }
    }

    private async Task<SiloLoad?> LoadAsync(SiloAddress silo, Dictionary<SiloAddress, SiloRuntimeStatistics> runtime)
    {
        try
        {
            var load = await loads.On(silo).GetLoadAsync().WaitAsync(LoadTimeout);
            return runtime.TryGetValue(silo, out var statistics)
                ? load with { Activations = statistics.ActivationCount, Clients = (int)statistics.ClientCount }
                : load;
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            return null;
        }
    }

    private static DateTimeOffset? Utc(DateTime at) =>
        at == default ? null : new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc));
}
