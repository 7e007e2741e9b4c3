using System.Net;
using System.Net.Sockets;
using MediaService.ApiFrontend.Access;
using MediaService.ApiFrontend.Admin;
using MediaService.Grains.Interfaces;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace MediaService.UnitTests;

public sealed class ServiceSecretsTests
{
    [Fact]
    public async Task ADatabaseThatAcceptsAndNeverAnswersGivesAnUnavailableAnswerNotAHang()
    {
        // A "database" that takes the connection and says nothing: the read would wait out the guard's whole budget.
        using var blackHole = new TcpListener(IPAddress.Loopback, 0);
        blackHole.Start();
        var held = new List<Socket>();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                held.Add(await blackHole.AcceptSocketAsync());
            }
        });
        var port = ((IPEndPoint)blackHole.LocalEndpoint).Port;
        await using var dataSource = Npgsql.NpgsqlDataSource.Create($"Host=127.0.0.1;Port={port};Username=u;Timeout=60;Command Timeout=60");
        using var provider = S3Pipelines.Build(_ => { });
        var secrets = new ServiceSecrets(dataSource, provider.GetRequiredService<Polly.Registry.ResiliencePipelineProvider<string>>(),
            Options.Create(new ClusterOptions { ServiceId = "tests" }));

        var refused = await Assert.ThrowsAsync<MediaException>(() => secrets.GetAsync("media-ids"));

        Assert.Equal(MediaErrorCode.Unavailable, refused.Code);
        Assert.NotNull(refused.RetryAfter);
        Assert.Null(secrets.Peek("media-ids"));
        blackHole.Stop();
        held.ForEach(socket => socket.Dispose());
    }
}
