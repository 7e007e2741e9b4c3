using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MediaService.IntegrationTests.Infrastructure;

/// <summary>One request a receiver got.</summary>
public sealed record ReceivedWebhook(string Path, string Id, string Timestamp, string Signature, string Body, DateTimeOffset ArrivedAt, int Number);

/// <summary>
/// A real HTTP receiver for webhook tests: Kestrel on 127.0.0.1 and a port of its own. It records every request (raw
/// body and the three Standard Webhooks headers) by path and answers as the path's behaviour says: 204 unless told
/// otherwise. Behaviours are functions of the request's number on that path (from 1), so a test can script "500, then
/// 200", hold requests on a gate, or answer slowly.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Func<int, Task<int>>> _behaviours = new();
    private readonly ConcurrentDictionary<string, int> _counts = new();
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();

    private WebhookReceiver(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Everything received so far, in arrival order.</summary>
    public IReadOnlyList<ReceivedWebhook> Received => [.. _received];

    public static async Task<WebhookReceiver> StartAsync()
    {
        var port = ServiceProcess.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, port);
        app.Run(receiver.HandleAsync);
        await app.StartAsync();
        return receiver;
    }

    /// <summary>The URL of a path on this receiver.</summary>
    public string Url(string path) => $"http://127.0.0.1:{Port}/{path.TrimStart('/')}";

    /// <summary>Sets how a path answers: the status for the n-th request there (from 1).</summary>
    public void Behave(string path, Func<int, Task<int>> behaviour) => _behaviours["/" + path.TrimStart('/')] = behaviour;

    /// <summary>What arrived on a path.</summary>
    public IReadOnlyList<ReceivedWebhook> On(string path) => [.. _received.Where(r => r.Path == "/" + path.TrimStart('/'))];

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        var arrived = DateTimeOffset.UtcNow;
        var n = _counts.AddOrUpdate(path, 1, (_, c) => c + 1);
        // Recorded on arrival, before the behaviour answers (a gated request is seen while it waits).
        _received.Enqueue(new ReceivedWebhook(path, context.Request.Headers["webhook-id"].ToString(), context.Request.Headers["webhook-timestamp"].ToString(),
            context.Request.Headers["webhook-signature"].ToString(), body, arrived, n));
        context.Response.StatusCode = _behaviours.TryGetValue(path, out var behaviour) ? await behaviour(n) : (int)HttpStatusCode.NoContent;
    }
}
