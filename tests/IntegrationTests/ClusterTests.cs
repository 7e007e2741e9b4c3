using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.Grains.Interfaces;
using Orleans.Core.Internal;
using MediaService.IntegrationTests.Infrastructure;

namespace MediaService.IntegrationTests;

[Collection(MediaServiceCollection.Name)]
public sealed class GrainStateTests(MediaServiceFixture fixture)
{
    [Fact]
    public async Task AnItemSurvivesTheDeactivationOfItsGrain()
    {
        var body = Payloads.Random(TestEnvironment.PartSize + 7, seed: 3);
        using var created = await fixture.Http.PostAsync("/media/upload?filename=keep.bin", Payloads.OctetStream(body));
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var grain = fixture.Cluster.Client.GetGrain<IMediaItemGrain>(id);
        var management = fixture.Cluster.Client.GetGrain<IManagementGrain>(0);
        await MediaFiles.ProcessedAsync(fixture.Http, id); // its processing report would wake the grain again

        await grain.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await Eventually.HoldsAsync<SiloAddress?>(
            () => management.GetActivationAddress(grain).AsTask(),
            address => address is null,
            TimeSpan.FromSeconds(20),
            $"deactivation of media item {id}");

        var metadata = await fixture.Http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata");
        Assert.Equal("stored", metadata.GetProperty("status").GetString());
        Assert.Equal("keep.bin", metadata.GetProperty("fileName").GetString());
        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await fixture.Http.GetByteArrayAsync($"/media/{id}/content")));
    }

    // A frontend or silo of the previous release calls the item through IUploadGrain (its calls are named by that
    // interface and the methods' aliases). The cluster client sends them over the wire, as such a caller would: the item
    // answers them, and what they did is what the facets see.
    [Fact]
    public async Task ACallerOfThePreviousContractReachesTheSameItemAsTheFacets()
    {
        var id = MediaServiceTestIds.Next();
        var legacy = fixture.Cluster.Client.GetGrain<IUploadGrain>(id);

        Assert.True((await legacy.CreateAsync(new CreateMediaItem("old.bin", "application/octet-stream", null))).Created);
        var grant = await fixture.Cluster.Client.GetGrain<IMediaUpload>(id).BeginAppendAsync(new BeginAppend(0, null));
        await legacy.AbandonAsync(grant.Lease, "the previous release's writer gave up");

        var view = await fixture.Cluster.Client.GetGrain<IMediaMetadata>(id).GetMetadataAsync();
        Assert.Equal("old.bin", view!.FileName);
        Assert.Equal(MediaStatus.Failed, view.Status);
        var seen = await legacy.GetMetadataAsync();
        Assert.Equal((view.Status, view.UpdatedAt, view.Offset), (seen!.Status, seen.UpdatedAt, seen.Offset));
    }

    [Fact]
    public async Task CreationNeverReusesAnIdThatHoldsAnItem()
    {
        var grain = fixture.Cluster.Client.GetGrain<IMediaItemGrain>(MediaServiceTestIds.Next());
        var request = new CreateMediaItem("a.bin", "application/octet-stream", null);

        var first = await grain.CreateAsync(request);
        var second = await grain.CreateAsync(request);
        var grant = await grain.BeginAppendAsync(new BeginAppend(0, null));
        await grain.AbandonAsync(grant.Lease, "test");
        var afterFailure = await grain.CreateAsync(request);

        Assert.True(first.Created);
        Assert.False(second.Created);
        Assert.False(afterFailure.Created);
    }

    [Fact]
    public async Task AWriterWithAStaleLeaseIsRefusedAcrossTheGrainBoundary()
    {
        var grain = fixture.Cluster.Client.GetGrain<IMediaItemGrain>(MediaServiceTestIds.Next());
        await grain.CreateAsync(new CreateMediaItem(null, "application/octet-stream", null));
        var older = await grain.BeginAppendAsync(new BeginAppend(0, null));
        var newer = await grain.BeginAppendAsync(new BeginAppend(0, null));

        var error = await Assert.ThrowsAsync<MediaException>(() => grain.OpenMultipartAsync(older.Lease));
        await grain.OpenMultipartAsync(newer.Lease);

        Assert.Equal(MediaErrorCode.StaleWriter, error.Code);
    }

    [Fact]
    public async Task ReadinessChecksTheClusterPostgresAndS3()
    {
        using var live = await fixture.Http.GetAsync("/health/live");
        using var ready = await fixture.Http.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.True(ready.StatusCode == HttpStatusCode.OK, await ready.Content.ReadAsStringAsync());
        var checks = (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks");
        foreach (var name in new[] { "cluster", "postgres", "s3" })
        {
            Assert.Equal("Healthy", checks.GetProperty(name).GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesTheMediaRoutes()
    {
        var document = await fixture.Http.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = document.GetProperty("paths");

        foreach (var path in new[] { "/media", "/media/upload", "/media/{id}", "/media/{id}/metadata", "/media/{id}/content", "/media/{id}/renditions/{name}" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is missing from the OpenAPI document.");
        }

        Assert.True(paths.GetProperty("/media").TryGetProperty("get", out var search));
        Assert.Contains(search.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "tag");
        Assert.True(paths.GetProperty("/media/{id}").TryGetProperty("delete", out _));
        var patch = paths.GetProperty("/media/{id}/metadata").GetProperty("patch");
        var body = patch.GetProperty("requestBody").GetProperty("content").GetProperty("application/merge-patch+json");
        Assert.True(body.TryGetProperty("schema", out _));
        Assert.Equal("Harbour at dawn", body.GetProperty("example").GetProperty("title").GetString());
        Assert.True(patch.GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/json").TryGetProperty("example", out _));

        // The key scheme, required by the media routes and not by the open ones.
        Assert.Equal("bearer", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("ApiKey").GetProperty("scheme").GetString());
        Assert.True(patch.TryGetProperty("security", out _));
        Assert.Equal(0, paths.GetProperty("/files").GetProperty("options").GetProperty("security").GetArrayLength()); // tus capabilities are open
        Assert.True(paths.TryGetProperty("/admin/keys", out _));

        using var anonymous = fixture.Frontend.CreateHttpClient(key: null);
        using var docs = await anonymous.GetAsync("/docs");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Equal("text/html", docs.Content.Headers.ContentType?.MediaType);
    }
}

/// <summary>Ids for tests that address grains directly, drawn like production ids.</summary>
internal static class MediaServiceTestIds
{
    public static long Next() => ApiFrontend.Media.MediaIds.NewId(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
}

public sealed class ClusterRestartTests
{
    [Fact]
    public async Task StoredItemsSurviveAFullClusterRestart()
    {
        var serviceId = $"media-restart-{Guid.NewGuid():N}";
        var body = Payloads.Random(TestEnvironment.PartSize * 2 + 3, seed: 5);
        long id;

        var first = await MediaTestCluster.StartAsync(serviceId);
        await using (var frontend = new FrontendFactory(first.Options.ClusterId, serviceId))
        using (var http = frontend.CreateHttpClient())
        {
            using var created = await http.PostAsync("/media/upload?filename=survivor.bin", Payloads.OctetStream(body));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        }

        await first.StopAllSilosAsync();
        await first.DisposeAsync();

        // A new cluster (new silos, new ports, new cluster id) of the same service reads the same state.
        var second = await MediaTestCluster.StartAsync(serviceId);
        try
        {
            await using var frontend = new FrontendFactory(second.Options.ClusterId, serviceId);
            using var http = frontend.CreateHttpClient();
            var metadata = await http.GetFromJsonAsync<JsonElement>($"/media/{id}/metadata");
            Assert.Equal("stored", metadata.GetProperty("status").GetString());
            Assert.Equal("survivor.bin", metadata.GetProperty("fileName").GetString());
            Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await http.GetByteArrayAsync($"/media/{id}/content")));
        }
        finally
        {
            await second.StopAllSilosAsync();
            await second.DisposeAsync();
        }
    }
}
