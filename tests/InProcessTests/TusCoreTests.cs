using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MediaService.InProcessTests.Host;

namespace MediaService.InProcessTests;

/// <summary>tus 1.0.0 core, creation, creation-with-upload, creation-defer-length, expiration and termination.</summary>
public sealed class TusCoreTests(InProcessHost host) : IClassFixture<InProcessHost>
{
    private const int Mib = Tus.Mib;
    private readonly HttpClient _http = host.Http;

    [Fact]
    public async Task OptionsAdvertisesTheVersionExtensionsAndMaximumSizeWithoutAKey()
    {
        using var anonymous = host.ClientFor(null);
        using var response = await anonymous.SendAsync(Tus.Request(HttpMethod.Options, "/files/", withVersion: false));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("1.0.0", Tus.Header(response, "Tus-Version"));
        Assert.Equal("1.0.0", Tus.Header(response, "Tus-Resumable"));
        Assert.Equal(
            ["creation", "creation-with-upload", "creation-defer-length", "expiration", "checksum", "checksum-trailer", "termination", "concatenation", "concatenation-unfinished"],
            Tus.Header(response, "Tus-Extension")!.Split(','));
        Assert.Equal(InProcessHost.MaxUploadBytes.ToString(CultureInfo.InvariantCulture), Tus.Header(response, "Tus-Max-Size"));
    }

    [Fact]
    public async Task ACreationWithoutTusResumableGets412AndCreatesNothing()
    {
        using var create = Tus.Request(HttpMethod.Post, "/files/", withVersion: false);
        create.Headers.Add("Upload-Length", "10");
        var puts = host.Store.Calls(Fakes.StoreOperation.Put);

        using var response = await _http.SendAsync(create);

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.Equal("1.0.0", Tus.Header(response, "Tus-Version"));
        Assert.Null(response.Headers.Location);
        Assert.Equal(puts, host.Store.Calls(Fakes.StoreOperation.Put));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("0.2.2")]
    [InlineData("2.0.0")]
    public async Task APatchWithoutOurTusVersionGets412AndChangesNothing(string? version)
    {
        var url = await Tus.CreateUrlAsync(_http, 10);
        using var patch = Tus.Request(HttpMethod.Patch, url, withVersion: false);
        if (version is not null)
        {
            patch.Headers.Add("Tus-Resumable", version);
        }

        patch.Headers.Add("Upload-Offset", "0");
        patch.Content = Tus.Chunk(new byte[10]);

        using var response = await _http.SendAsync(patch);

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.Equal("1.0.0", Tus.Header(response, "Tus-Version"));
        Assert.Equal(0, await Tus.OffsetAsync(_http, url));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("10", "1")]
    [InlineData(null, "2")]
    [InlineData("-1", null)]
    [InlineData("abc", null)]
    [InlineData("1.5", null)]
    public async Task CreationNeedsExactlyOneValidLengthHeaderElse400(string? length, string? defer)
    {
        using var request = Tus.Request(HttpMethod.Post, "/files/");
        if (length is not null)
        {
            request.Headers.TryAddWithoutValidation("Upload-Length", length);
        }

        if (defer is not null)
        {
            request.Headers.TryAddWithoutValidation("Upload-Defer-Length", defer);
        }

        using var response = await _http.SendAsync(request);

        await Tus.AssertProblemAsync(response, 400, "upload-rejected");
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task CreationOverTheMaximumSizeGets413UploadTooLarge()
    {
        using var response = await Tus.CreateAsync(_http, InProcessHost.MaxUploadBytes + 1);

        await Tus.AssertProblemAsync(response, 413, "upload-too-large");
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task CreationAtExactlyTheMaximumSizeIsAccepted()
    {
        using var response = await Tus.CreateAsync(_http, InProcessHost.MaxUploadBytes);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Theory]
    [InlineData("key value extra")]
    [InlineData("filename YQ==,filename Yg==")]
    [InlineData("filename not*base64")]
    [InlineData(",filename YQ==")]
    [InlineData("a\tb YQ==")]
    public async Task InvalidUploadMetadataGets400(string metadata)
    {
        using var response = await Tus.CreateAsync(_http, 10, metadata);

        await Tus.AssertProblemAsync(response, 400, "upload-rejected");
    }

    [Fact]
    public async Task ACreatedUploadReportsItsOffsetLengthMetadataAndExpiryAndIsNotCached()
    {
        var metadata = $"filename {Tus.Base64("été à la plage.jpg")},filetype {Tus.Base64("image/jpeg")},empty";
        using var created = await Tus.CreateAsync(_http, 10, metadata);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("1.0.0", Tus.Header(created, "Tus-Resumable"));
        var url = created.Headers.Location!.OriginalString;
        Assert.Matches("^/files/[0-9]+$", url);
        var expires = DateTimeOffset.Parse(Tus.Header(created, "Upload-Expires")!, CultureInfo.InvariantCulture);
        Assert.InRange(expires, DateTimeOffset.UtcNow.AddHours(23), DateTimeOffset.UtcNow.AddHours(24).AddMinutes(1));

        using var head = await Tus.HeadAsync(_http, url);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(0, Tus.Offset(head));
        Assert.Equal("10", Tus.Header(head, "Upload-Length"));
        Assert.Null(Tus.Header(head, "Upload-Defer-Length"));
        Assert.Equal(metadata, Tus.Header(head, "Upload-Metadata"));
        Assert.True(head.Headers.CacheControl?.NoStore);
        Assert.Equal(Tus.Header(created, "Upload-Expires"), Tus.Header(head, "Upload-Expires"));

        var item = await _http.GetFromJsonAsync<JsonElement>($"/media/{Tus.IdOf(url)}/metadata");
        Assert.Equal("été à la plage.jpg", item.GetProperty("fileName").GetString());
        Assert.Equal("image/jpeg", item.GetProperty("contentType").GetString());
        Assert.Equal("receiving", item.GetProperty("status").GetString());
    }

    [Fact]
    public async Task ACreatedUploadIsIndexedForItsOwner()
    {
        var url = await Tus.CreateUrlAsync(_http, 10);

        var row = host.Index.Row(Tus.IdOf(url));

        Assert.NotNull(row);
        Assert.Equal("receiving", row.Status);
    }

    [Theory]
    [InlineData(1 * Mib)]
    [InlineData(5 * Mib + 1)]
    [InlineData(12 * Mib + 3)]
    public async Task AnUploadSentInChunksReportsEachOffsetAndIsStoredByteIdentical(int chunk)
    {
        var body = Tus.Bytes(12 * Mib + 3, seed: chunk);
        var url = await Tus.CreateUrlAsync(_http, body.Length);

        long offset = 0;
        while (offset < body.Length)
        {
            var count = (int)Math.Min(chunk, body.Length - offset);
            using var response = await Tus.PatchAsync(_http, url, offset, Tus.Chunk(body, (int)offset, count));
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            Assert.Equal(offset + count, Tus.Offset(response));
            offset += count;

            // An unfinished upload tells when it expires; a finished one no longer expires.
            Assert.Equal(offset < body.Length, Tus.Header(response, "Upload-Expires") is not null);
            Assert.Equal(offset, await Tus.OffsetAsync(_http, url));
        }

        await Assertions.StoredAsync(host, url, body);
    }

    [Fact]
    public async Task AStoredUploadLeavesNoTailNoPutAndNoOpenMultipartBehind()
    {
        var body = Tus.Bytes(11 * Mib + 17, seed: 5);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        foreach (var (from, count) in new[] { (0, 3 * Mib), (3 * Mib, 6 * Mib), (9 * Mib, 2 * Mib + 17) })
        {
            using var patch = await Tus.PatchAsync(_http, url, from, Tus.Chunk(body, from, count));
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        var id = Tus.IdOf(url);
        Assert.Equal([$"media/{id}/original"], host.Store.KeysUnder($"media/{id}/"));
        Assert.Equal(0, host.Store.OpenUploadsUnder($"media/{id}/"));
        Assert.Equal(body, host.Store.Bytes($"media/{id}/original"));
    }

    [Fact]
    public async Task AStoredUploadIsQueuedForProcessingOnce()
    {
        var body = Tus.Bytes(1000, seed: 6);
        var url = await Tus.CreateUrlAsync(_http, body.Length);
        using var patch = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body));
        Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);

        var job = Assert.Single(host.Processing.JobsOf(Tus.IdOf(url)));
        Assert.Equal(body.Length, job.Size);
    }

    [Fact]
    public async Task CreationWithUploadTakesTheBodyAsTheFirstChunk()
    {
        var body = Tus.Bytes(6 * Mib, seed: 21);
        using var created = await Tus.CreateAsync(_http, body.Length, body: body[..(3 * Mib)]);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(3 * Mib, Tus.Offset(created));
        var url = created.Headers.Location!.OriginalString;
        using var rest = await Tus.PatchAsync(_http, url, 3 * Mib, Tus.Chunk(body, 3 * Mib));
        Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);

        await Assertions.StoredAsync(host, url, body);
    }

    [Fact]
    public async Task CreationWithUploadOfAnotherContentTypeGets415AndCreatesNothing()
    {
        using var request = Tus.Request(HttpMethod.Post, "/files/");
        request.Headers.Add("Upload-Length", "4");
        request.Content = Tus.Chunk([1, 2, 3, 4], type: "image/png");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task AnEmptyUploadIsCompleteAtOnce()
    {
        using var created = await Tus.CreateAsync(_http, 0);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Null(Tus.Header(created, "Upload-Expires"));
        var url = created.Headers.Location!.OriginalString;

        using var head = await Tus.HeadAsync(_http, url);
        Assert.Equal(0, Tus.Offset(head));
        Assert.Equal("0", Tus.Header(head, "Upload-Length"));
        await Assertions.StoredAsync(host, url, []);
    }

    [Fact]
    public async Task ADeferredLengthIsSetByALaterPatchAndChangingItAfterwardsGets409()
    {
        var body = Tus.Bytes(2 * Mib + 5, seed: 31);
        var url = await Tus.CreateUrlAsync(_http, null);
        using (var head = await Tus.HeadAsync(_http, url))
        {
            Assert.Equal("1", Tus.Header(head, "Upload-Defer-Length"));
            Assert.Null(Tus.Header(head, "Upload-Length"));
        }

        using var first = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(body, 0, Mib));
        Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        using var last = await Tus.PatchAsync(_http, url, Mib, Tus.Chunk(body, Mib), length: body.Length);
        Assert.Equal(HttpStatusCode.NoContent, last.StatusCode);

        await Assertions.StoredAsync(host, url, body);
        using var changed = await Tus.PatchAsync(_http, url, body.Length, Tus.Chunk([]), length: body.Length + 1);
        await Tus.AssertProblemAsync(changed, 409, "upload-conflict");
        await Assertions.StoredAsync(host, url, body);
    }

    [Fact]
    public async Task PatchAtAWrongOffsetGets409AndChangesNothing()
    {
        var url = await Tus.CreateUrlAsync(_http, 100);
        using var first = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(Tus.Bytes(10, 1)));
        Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);

        using var ahead = await Tus.PatchAsync(_http, url, 25, Tus.Chunk(new byte[10]));
        using var behind = await Tus.PatchAsync(_http, url, 5, Tus.Chunk(new byte[10]));

        await Tus.AssertProblemAsync(ahead, 409, "upload-conflict");
        await Tus.AssertProblemAsync(behind, 409, "upload-conflict");
        Assert.Equal(10, await Tus.OffsetAsync(_http, url));
    }

    [Theory]
    [InlineData("application/octet-stream")]
    [InlineData("text/plain")]
    public async Task APatchWithAnotherContentTypeGets415AndChangesNothing(string type)
    {
        var url = await Tus.CreateUrlAsync(_http, 10);

        using var response = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(new byte[10], type: type));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal(0, await Tus.OffsetAsync(_http, url));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("-1")]
    [InlineData("x")]
    [InlineData("1.0")]
    public async Task APatchWithoutAValidUploadOffsetGets400(string? offset)
    {
        var url = await Tus.CreateUrlAsync(_http, 10);
        using var request = Tus.Request(HttpMethod.Patch, url);
        if (offset is not null)
        {
            request.Headers.TryAddWithoutValidation("Upload-Offset", offset);
        }

        request.Content = Tus.Chunk(new byte[10]);
        using var response = await _http.SendAsync(request);

        await Tus.AssertProblemAsync(response, 400, "upload-rejected");
        Assert.Equal(0, await Tus.OffsetAsync(_http, url));
    }

    [Fact]
    public async Task WritingPastTheLengthGets413AndStoresNothingBeyondIt()
    {
        var url = await Tus.CreateUrlAsync(_http, 10);

        using var response = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(new byte[11]));

        await Tus.AssertProblemAsync(response, 413, "upload-too-large");
        Assert.Equal(0, await Tus.OffsetAsync(_http, url));
    }

    [Fact]
    public async Task TerminationFreesTheUploadWhichIsThenGone()
    {
        var url = await Tus.CreateUrlAsync(_http, 10 * Mib);
        using var patch = await Tus.PatchAsync(_http, url, 0, Tus.Chunk(Tus.Bytes(6 * Mib, 2)));
        Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        var id = Tus.IdOf(url);

        using var deleted = await _http.SendAsync(Tus.Request(HttpMethod.Delete, url));

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var head = await Tus.HeadAsync(_http, url);
        Assert.Equal(HttpStatusCode.Gone, head.StatusCode);
        Assert.Null(Tus.Offset(head));
        using var again = await Tus.PatchAsync(_http, url, 6 * Mib, Tus.Chunk(new byte[1]));
        Assert.Equal(HttpStatusCode.Gone, again.StatusCode);
        Assert.Empty(host.Store.KeysUnder($"media/{id}/"));
        Assert.Equal(0, host.Store.OpenUploadsUnder($"media/{id}/"));
    }

    [Theory]
    [InlineData("HEAD")]
    [InlineData("PATCH")]
    [InlineData("DELETE")]
    public async Task AnIdThisServiceNeverIssuedGets404(string method)
    {
        using var request = Tus.Request(new HttpMethod(method), "/files/123");
        request.Headers.Add("Upload-Offset", "0");
        if (method == "PATCH")
        {
            request.Content = Tus.Chunk([1]);
        }

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Null(Tus.Offset(response));
        Assert.Equal("1.0.0", Tus.Header(response, "Tus-Resumable"));
    }

    [Fact]
    public async Task AnotherOwnersUploadIsNotFound()
    {
        var url = await Tus.CreateUrlAsync(_http, 10);
        using var bob = host.ClientFor("bob");

        using var head = await Tus.HeadAsync(bob, url);
        using var patch = await Tus.PatchAsync(bob, url, 0, Tus.Chunk(new byte[10]));

        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, patch.StatusCode);
        Assert.Equal(0, await Tus.OffsetAsync(_http, url));
    }

    [Fact]
    public async Task ACreationWithoutAKeyGets401ProblemDetails()
    {
        using var anonymous = host.ClientFor(null);

        using var response = await Tus.CreateAsync(anonymous, 10);

        await Tus.AssertProblemAsync(response, 401, "unauthorized");
        Assert.Equal("Bearer realm=\"media\"", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task XHttpMethodOverrideIsHonoured()
    {
        var url = await Tus.CreateUrlAsync(_http, 3);
        using var request = Tus.Request(HttpMethod.Post, url);
        request.Headers.Add("X-HTTP-Method-Override", "PATCH");
        request.Headers.Add("Upload-Offset", "0");
        request.Content = Tus.Chunk([1, 2, 3]);

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(3, Tus.Offset(response));
        await Assertions.StoredAsync(host, url, [1, 2, 3]);
    }
}
