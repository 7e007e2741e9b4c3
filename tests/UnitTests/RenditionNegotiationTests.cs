using MediaService.ApiFrontend.Media;

namespace MediaService.UnitTests;

public sealed class RenditionNegotiationTests
{
    private static readonly string[] All = ["thumb.avif", "thumb.webp", "thumb.jpg", "display.avif", "display.webp", "display.jpg"];

    [Theory]
    // Chrome and Firefox of today name AVIF; Safari names WebP and AVIF alike (AVIF is preferred).
    [InlineData("image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8", "thumb.avif")]
    [InlineData("image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5", "thumb.avif")]
    // An older browser names WebP only: a wildcard does not make AVIF as good.
    [InlineData("image/webp,*/*", "thumb.webp")]
    [InlineData("image/jpeg", "thumb.jpg")]
    // No named form (curl, scripts, no header at all): JPEG, which everyone decodes.
    [InlineData("*/*", "thumb.jpg")]
    [InlineData("image/*", "thumb.jpg")]
    [InlineData(null, "thumb.jpg")]
    [InlineData("not a media type at all ;;;", "thumb.jpg")]
    // Qualities count, and q=0 refuses.
    [InlineData("image/avif;q=0.5,image/webp;q=0.9", "thumb.webp")]
    [InlineData("image/avif;q=0,image/*", "thumb.jpg")]
    [InlineData("image/avif;q=0,image/webp;q=0,*/*", "thumb.jpg")]
    public void TheFormFollowsAccept(string? accept, string chosen)
    {
        Assert.Equal(chosen, RenditionNegotiation.Choose("thumb", All, accept));
    }

    [Fact]
    public void OnlyFormsTheItemHasAreChosenAndNoneAcceptableIsNull()
    {
        Assert.Equal("thumb.webp", RenditionNegotiation.Choose("thumb", ["thumb.webp", "thumb.jpg"], "image/avif,image/webp"));
        Assert.Null(RenditionNegotiation.Choose("thumb", All, "text/html"));
        Assert.Null(RenditionNegotiation.Choose("poster", All, "*/*"));
        Assert.True(RenditionNegotiation.IsNegotiated("thumb"));
        Assert.False(RenditionNegotiation.IsNegotiated("thumb.webp"));
    }
}
