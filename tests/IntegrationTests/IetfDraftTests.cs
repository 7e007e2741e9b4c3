using System.Net;
using System.Net.Http.Headers;
using MediaService.IntegrationTests.Infrastructure;
using MediaService.TestRules;

namespace MediaService.IntegrationTests;

/// <summary>
/// The IETF draft's rules (<see cref="IetfDraftRules"/>) on the real stack, and the two that need a real client
/// connection to a real server: a creation whose body fails midway, and an offset retrieved while an older append still
/// sends.
/// </summary>
[Collection(MediaServiceCollection.Name)]
public sealed class IetfDraftTests(MediaServiceFixture fixture) : IetfDraftRules(fixture.Http, 128L * 1024 * 1024)
{
    private readonly HttpClient _http = fixture.Http;

    [Theory]
    [MemberData(nameof(Versions), MemberType = typeof(IetfDraftRules))]
    public async Task AnInterruptedCreationResumesFromTheOffsetTheServerReports(string version)
    {
        var body = Payloads.Random(3 * 1024 * 1024, seed: 115);
        var url = await CreateUrlAsync(version, body.Length);

        // The connection drops after 1 MiB of the first append: the server keeps what it got, without discontinuity.
        using (var request = Draft(HttpMethod.Patch, url, version))
        {
            request.Headers.Add("Upload-Offset", "0");
            request.Headers.Add("Upload-Complete", "?1");
            request.Content = new StreamContent(new FailingAfterStream(body, 1024 * 1024));
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(AppendType(version));
            request.Content.Headers.ContentLength = body.Length;
            await Assert.ThrowsAnyAsync<Exception>(() => _http.SendAsync(request));
        }

        var offset = await Eventually.HoldsAsync(
            async () =>
            {
                using var head = await HeadAsync(version, url);
                return head.StatusCode == HttpStatusCode.OK && Tus.Header(head, "Upload-Complete") == "?0" ? Tus.Offset(head) ?? -1 : -1;
            },
            o => o >= 0, TimeSpan.FromSeconds(30), "the offset after the drop");
        Assert.InRange(offset, 0, 1024 * 1024);

        // The dropped request may still reach the item after the HEAD (its grant can come later than the HEAD's fence,
        // when the client gave up before the server got to it): then the append is refused with 409 and the offset the
        // server holds, and the client goes on from there, as the draft's 409 lets it. Whatever happened, nothing stored
        // is lost and nothing is stored twice.
        for (var attempt = 1; ; attempt++)
        {
            using var rest = await AppendAsync(version, url, offset, body[(int)offset..], complete: true);
            if (rest.StatusCode == HttpStatusCode.Conflict && attempt < 3)
            {
                var held = Tus.Offset(rest) ?? -1;
                Assert.InRange(held, offset, 1024 * 1024);
                offset = held;
                continue;
            }

            Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);
            break;
        }

        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await ContentAsync(url)));
    }

    [Theory]
    [InlineData("7")]
    [InlineData("8")]
    public async Task AnOffsetRetrievedWhileAnOlderAppendStillSendsIsTheOneTheNextAppendUses(string version)
    {
        // The client gave up on an append that the server still receives (its connection is not dead yet): the offset a
        // HEAD reports must be accepted by the next append ("MUST NOT send outdated information"), so the old request
        // may not move it afterwards, even when it goes on to send every byte with Upload-Complete: ?1.
        const int Mib = 1024 * 1024;
        var body = Payloads.Random(12 * Mib, seed: 118);
        var url = await CreateUrlAsync(version, body.Length);
        var gated = new GatedStream(body, gateAt: 6 * Mib);
        using var stale = Draft(HttpMethod.Patch, url, version);
        stale.Headers.Add("Upload-Offset", "0");
        stale.Headers.Add("Upload-Complete", "?1");
        stale.Content = new StreamContent(gated);
        stale.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        stale.Content.Headers.ContentLength = body.Length;
        var staleAnswer = _http.SendAsync(stale);
        await gated.Reached.WaitAsync(TimeSpan.FromSeconds(30));

        // Its first part is recorded (seen through tus, whose HEAD fences nothing), then the draft's HEAD fences it off.
        await Eventually.HoldsAsync(
            async () =>
            {
                using var tusHead = await Tus.HeadAsync(_http, url);
                return Tus.Offset(tusHead) ?? 0;
            },
            offset => offset >= TestEnvironment.PartSize, TimeSpan.FromSeconds(30), "the old append's first part");
        long reported;
        using (var head = await HeadAsync(version, url))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            reported = Tus.Offset(head)!.Value;
        }

        // The old request sends the rest; whatever it is answered, it must not have moved the offset.
        gated.Open();
        try
        {
            using var _ = await staleAnswer;
        }
        catch (HttpRequestException)
        {
            // The server may cut the superseded request off.
        }

        using var resumed = await AppendAsync(version, url, reported, body[(int)reported..], complete: true);

        Assert.Equal(HttpStatusCode.NoContent, resumed.StatusCode);
        Assert.Equal("?1", Tus.Header(resumed, "Upload-Complete"));
        Assert.Equal(Payloads.Sha256(body), Payloads.Sha256(await ContentAsync(url)));
    }

    /// <summary>A body that fails after <c>limit</c> bytes, as a dropped connection does.</summary>
    private sealed class FailingAfterStream(byte[] bytes, int limit) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => bytes.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= limit)
            {
                throw new IOException("The connection dropped.");
            }

            var n = Math.Min(count, limit - _position);
            Array.Copy(bytes, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
