using MediaService.ApiFrontend.Tus;
using Microsoft.AspNetCore.Http;

namespace MediaService.UnitTests;

/// <summary>What differs between tus and the IETF draft's interop versions, decided by one object per protocol.</summary>
public sealed class ResumableProtocolTests
{
    private static HttpContext Request(params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        foreach (var (name, value) in headers)
        {
            context.Request.Headers.Append(name, value);
        }

        return context;
    }

    private static ResumableProtocol Classified(string version)
    {
        var context = Request(("Upload-Draft-Interop-Version", version));
        Assert.True(ResumableProtocol.TryClassify(context));
        return ResumableProtocol.Of(context);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("6")]
    [InlineData("7")]
    [InlineData("8")]
    public void EachInteropVersionIsItsOwnProtocolAndIsEchoed(string version)
    {
        var context = Request(("Upload-Draft-Interop-Version", version), ("Tus-Resumable", "1.0.0"));

        Assert.True(ResumableProtocol.TryClassify(context));

        Assert.Equal(version, ResumableProtocol.DraftVersion(context));
        Assert.Equal(version, context.Response.Headers["Upload-Draft-Interop-Version"].ToString());
        Assert.False(context.Response.Headers.ContainsKey("Tus-Resumable"));
    }

    [Theory]
    [InlineData("9")]
    [InlineData("08")]
    [InlineData("-8")]
    [InlineData("")]
    public void AnUnknownVersionIsNotClassified(string version)
    {
        var context = Request(("Upload-Draft-Interop-Version", version));

        Assert.False(ResumableProtocol.TryClassify(context));
    }

    [Fact]
    public void TusIsClassifiedByItsVersionOnly()
    {
        Assert.True(ResumableProtocol.TryClassify(Request(("Tus-Resumable", "1.0.0"))));
        Assert.False(ResumableProtocol.TryClassify(Request(("Tus-Resumable", "0.2.2"))));
        var none = Request();
        Assert.False(ResumableProtocol.TryClassify(none));
        Assert.Same(ResumableProtocol.Tus, ResumableProtocol.Of(none));
        Assert.Equal("1.0.0", none.Response.Headers["Tus-Resumable"].ToString());
    }

    [Theory]
    [InlineData("5", "application/octet-stream", true)]
    [InlineData("5", null, true)]
    [InlineData("6", "application/partial-upload", true)]
    [InlineData("6", "application/offset+octet-stream", true)]
    [InlineData("6", "image/jpeg", false)]
    [InlineData("7", "application/partial-upload", true)]
    [InlineData("7", "Application/Partial-Upload; charset=x", true)]
    [InlineData("7", "application/offset+octet-stream", false)]
    [InlineData("8", "application/partial-upload", true)]
    [InlineData("8", null, false)]
    public void AppendMediaTypesFollowTheVersion(string version, string? type, bool accepted) =>
        Assert.Equal(accepted, Classified(version).AcceptsAppendType(type));

    [Theory]
    [InlineData("?1", true)]
    [InlineData("?0", false)]
    [InlineData(" ?1 ", true)]
    [InlineData("?2", null)]
    [InlineData("true", null)]
    [InlineData("1", null)]
    public void UploadCompleteIsAStructuredBoolean(string value, bool? expected)
    {
        var context = Request(("Upload-Draft-Interop-Version", "8"), ("Upload-Complete", value));
        ResumableProtocol.TryClassify(context);

        Assert.Equal(expected, ResumableProtocol.Of(context).UploadComplete(context.Request));
    }

    [Fact]
    public void TwoUploadCompleteFieldsAreIgnored()
    {
        var context = Request(("Upload-Draft-Interop-Version", "8"), ("Upload-Complete", "?1"), ("Upload-Complete", "?0"));
        ResumableProtocol.TryClassify(context);

        Assert.Null(ResumableProtocol.Of(context).UploadComplete(context.Request));
    }

    [Theory]
    [InlineData("5", null)]
    [InlineData("6", "max-size=1000, max-append-size=100, expires=3599")]
    [InlineData("7", "max-size=1000, max-append-size=100, max-age=3599")]
    [InlineData("8", "max-size=1000, max-append-size=100, max-age=3599")]
    public void LimitsNameTheLifetimeAsTheVersionDoes(string version, string? expected)
    {
        var headers = new HeaderDictionary();
        var now = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

        Classified(version).WriteLimits(headers, new UploadLimits(1000, 100), now.AddSeconds(3599.7), now);

        Assert.Equal(expected, headers.TryGetValue("Upload-Limit", out var value) ? value.ToString() : null);
    }

    [Fact]
    public void AnExpiredOrCompletedUploadAnnouncesNoNegativeAge()
    {
        var headers = new HeaderDictionary();
        var now = DateTimeOffset.UnixEpoch.AddDays(1);

        Classified("8").WriteLimits(headers, new UploadLimits(1, 1), now.AddSeconds(-5), now);
        Assert.Equal("max-size=1, max-append-size=1, max-age=0", headers["Upload-Limit"].ToString());

        Classified("8").WriteLimits(headers, new UploadLimits(1, 1), null, now);
        Assert.Equal("max-size=1, max-append-size=1", headers["Upload-Limit"].ToString());
    }

    [Fact]
    public void OnlyVersion8AnnouncesAcceptPatchAndRetrievesByGet()
    {
        foreach (var version in new[] { "5", "6", "7", "8" })
        {
            var headers = new HeaderDictionary();
            var protocol = Classified(version);
            protocol.WriteCapabilities(headers, new UploadLimits(10, 10), TimeSpan.FromHours(1));

            Assert.Equal(version == "8", headers.ContainsKey("Accept-Patch"));
            Assert.Equal(version == "8", protocol.RetrievesOffsetByGet);
            Assert.Equal(version != "5", headers.ContainsKey("Upload-Limit"));
        }
    }

    [Fact]
    public void TheAppendLimitNeverExceedsTheUploadLimit()
    {
        var limits = UploadLimits.Of(new MediaService.DataPlane.UploadOptions { MaxUploadBytes = 100, MaxAppendBytes = 1000 });

        Assert.Equal("max-size=100, max-append-size=100", limits.Dictionary());
    }
}
