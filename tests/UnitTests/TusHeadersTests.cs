using MediaService.ApiFrontend.Tus;
using MediaService.Grains.Interfaces;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace MediaService.UnitTests;

/// <summary>The rules the tus and draft request headers are read by (<see cref="TusHeaders"/>, <see cref="TusRequest"/>).</summary>
public sealed class TusHeadersTests
{
    private static HttpRequest Request(params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        foreach (var (name, value) in headers)
        {
            // An empty value is kept, and a field sent twice has two values, as on a request Kestrel parsed.
            context.Request.Headers[name] = StringValues.Concat(context.Request.Headers[name], value);
        }

        return context.Request;
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("5", 5L)]
    [InlineData("0000000000000000042", 42L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void ANonNegativeIntegerIsItsValue(string text, long expected)
    {
        Assert.True(TusHeaders.TryParseNonNegative(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("1.5")]
    [InlineData("1e3")]
    [InlineData("abc")]
    [InlineData("12a")]
    [InlineData("0x10")]
    [InlineData(" 5")]
    [InlineData("5 ")]
    [InlineData("5,6")]
    [InlineData("\u0665")]
    [InlineData("9223372036854775808")]
    [InlineData("99999999999999999999")]
    public void AnythingButDigitsThatFitALongIsNoNonNegativeInteger(string text)
    {
        Assert.False(TusHeaders.TryParseNonNegative(text, out _));
    }

    [Fact]
    public void AMissingNumberIsNoNonNegativeInteger()
    {
        Assert.False(TusHeaders.TryParseNonNegative(StringValues.Empty, out _));
    }

    [Fact]
    public void ANumberSentTwiceIsNoNonNegativeIntegerEvenWhenBothAgree()
    {
        Assert.False(TusHeaders.TryParseNonNegative(new StringValues(["5", "5"]), out _));
    }

    [Theory]
    [InlineData("?1", true)]
    [InlineData("?0", false)]
    [InlineData(" ?1 ", true)]
    [InlineData("\t?0", false)]
    [InlineData("?2", null)]
    [InlineData("?", null)]
    [InlineData("1", null)]
    [InlineData("true", null)]
    [InlineData("?1;a=b", null)]
    [InlineData("", null)]
    public void UploadCompleteIsAStructuredBooleanAndAnythingElseIsIgnored(string text, bool? expected)
    {
        Assert.Equal(expected, TusHeaders.ParseBoolean(text));
    }

    [Fact]
    public void AMissingOrRepeatedUploadCompleteIsIgnored()
    {
        Assert.Null(TusHeaders.ParseBoolean(StringValues.Empty));
        Assert.Null(TusHeaders.ParseBoolean(new StringValues(["?1", "?1"])));
    }

    [Theory]
    [InlineData("8", "8")]
    [InlineData(" 8 ", "8")]
    [InlineData("08", "08")]
    public void TheInteropVersionIsComparedAsSentButTrimmed(string text, string expected)
    {
        Assert.Equal(expected, TusHeaders.InteropVersion(text));
    }

    [Fact]
    public void AMissingOrRepeatedInteropVersionNamesNone()
    {
        Assert.Null(TusHeaders.InteropVersion(StringValues.Empty));
        Assert.Null(TusHeaders.InteropVersion(new StringValues(["8", "8"])));
    }

    [Theory]
    [InlineData("1.0.0", true)]
    [InlineData(" 1.0.0", false)]
    [InlineData("1.0", false)]
    [InlineData("0.2.2", false)]
    public void TusResumableMustBeExactlyOurVersion(string text, bool expected)
    {
        Assert.Equal(expected, TusHeaders.SpeaksTus(text));
    }

    [Fact]
    public void AMissingOrRepeatedTusResumableIsNotOurVersion()
    {
        Assert.False(TusHeaders.SpeaksTus(StringValues.Empty));
        Assert.False(TusHeaders.SpeaksTus(new StringValues(["1.0.0", "1.0.0"])));
    }

    [Fact]
    public void ARequestWithoutUploadHeadersHasNoneOfThem()
    {
        var fields = TusRequest.Parse(Request());

        Assert.False(fields.HasOffset);
        Assert.Null(fields.Offset);
        Assert.False(fields.HasLength);
        Assert.Null(fields.Length);
        Assert.False(fields.HasDeferLength);
        Assert.False(fields.DefersLength);
        Assert.Equal(ConcatKind.None, fields.Concat);
        Assert.Empty(fields.Partials);
        Assert.Equal("", fields.Metadata);
        Assert.False(fields.HasComplete);
        Assert.Null(fields.Complete);
        Assert.Null(fields.Checksum);
        Assert.False(fields.ChecksumInTrailer);
    }

    [Fact]
    public void OffsetAndLengthAreParsedAsNonNegativeIntegers()
    {
        var fields = TusRequest.Parse(Request(("Upload-Offset", "10"), ("Upload-Length", "20")));

        Assert.True(fields.HasOffset);
        Assert.Equal(10, fields.Offset);
        Assert.True(fields.HasLength);
        Assert.Equal(20, fields.Length);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("ten")]
    [InlineData("9223372036854775808")]
    public void AMalformedOffsetOrLengthIsSentButHasNoValue(string text)
    {
        var fields = TusRequest.Parse(Request(("Upload-Offset", text), ("Upload-Length", text)));

        Assert.True(fields.HasOffset);
        Assert.Null(fields.Offset);
        Assert.True(fields.HasLength);
        Assert.Null(fields.Length);
    }

    [Fact]
    public void ALengthSentTwiceIsSentButHasNoValue()
    {
        var fields = TusRequest.Parse(Request(("Upload-Length", "5"), ("Upload-Length", "5")));

        Assert.True(fields.HasLength);
        Assert.Null(fields.Length);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("0", false)]
    [InlineData(" 1", false)]
    [InlineData("true", false)]
    public void OnlyUploadDeferLengthOneDefersTheLength(string text, bool defers)
    {
        var fields = TusRequest.Parse(Request(("Upload-Defer-Length", text)));

        Assert.True(fields.HasDeferLength);
        Assert.Equal(defers, fields.DefersLength);
    }

    [Fact]
    public void UploadDeferLengthSentTwiceDoesNotDefer()
    {
        var fields = TusRequest.Parse(Request(("Upload-Defer-Length", "1"), ("Upload-Defer-Length", "1")));

        Assert.True(fields.HasDeferLength);
        Assert.False(fields.DefersLength);
    }

    [Fact]
    public void UploadConcatPartialMarksAPartialUpload()
    {
        var fields = TusRequest.Parse(Request(("Upload-Concat", "partial")));

        Assert.Equal(ConcatKind.Partial, fields.Concat);
        Assert.Empty(fields.Partials);
    }

    [Fact]
    public void UploadConcatFinalListsItsPartialsInOrder()
    {
        var fields = TusRequest.Parse(Request(("Upload-Concat", "final;/files/12 https://media.example/files/7")));

        Assert.Equal(ConcatKind.Final, fields.Concat);
        Assert.Equal([12L, 7L], fields.Partials.ToArray());
    }

    [Theory]
    [InlineData("Partial")]
    [InlineData(" partial")]
    [InlineData("final")]
    [InlineData("final;/media/12")]
    [InlineData("final;/files/abc")]
    [InlineData("final;/files/0")]
    [InlineData("other")]
    [InlineData("")]
    public void AMalformedUploadConcatHasNoKind(string text)
    {
        var fields = TusRequest.Parse(Request(("Upload-Concat", text)));

        Assert.Null(fields.Concat);
        Assert.Empty(fields.Partials);
    }

    [Fact]
    public void UploadConcatPartialSentTwiceIsMalformed()
    {
        Assert.Null(TusRequest.Parse(Request(("Upload-Concat", "partial"), ("Upload-Concat", "partial"))).Concat);
    }

    [Fact]
    public void UploadMetadataIsHandedOnAsSent()
    {
        var fields = TusRequest.Parse(Request(("Upload-Metadata", "filename d29ybGQ=, is-confidential")));

        Assert.Equal("filename d29ybGQ=, is-confidential", fields.Metadata);
    }

    [Fact]
    public void UploadCompleteIsReadAsABoolean()
    {
        var complete = TusRequest.Parse(Request(("Upload-Complete", "?1")));
        var malformed = TusRequest.Parse(Request(("Upload-Complete", "yes")));

        Assert.True(complete.HasComplete);
        Assert.True(complete.Complete);
        Assert.True(malformed.HasComplete);
        Assert.Null(malformed.Complete);
    }

    [Fact]
    public void AChecksumHeaderIsHandedOnAsSent()
    {
        var fields = TusRequest.Parse(Request(("Upload-Checksum", "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=")));

        Assert.Equal("sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=", fields.Checksum);
        Assert.False(fields.ChecksumInTrailer);
    }

    [Theory]
    [InlineData("Upload-Checksum", true)]
    [InlineData("upload-checksum", true)]
    [InlineData("Server-Timing, Upload-Checksum", true)]
    [InlineData("Server-Timing", false)]
    public void AChecksumTrailerIsAnnouncedInTrailerWhateverItsCase(string trailer, bool announced)
    {
        Assert.Equal(announced, TusRequest.Parse(Request(("Trailer", trailer))).ChecksumInTrailer);
    }
}
