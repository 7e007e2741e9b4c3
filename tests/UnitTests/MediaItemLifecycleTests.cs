using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;

namespace MediaService.UnitTests;

public sealed class MediaItemLifecycleTests
{
    private const long Id = 4_242_424_242;
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 8, 0, 0, TimeSpan.Zero);
    private static readonly string Sha = new('a', 64);

    private static MediaItemState Receiving(long? declared = null) =>
        MediaItemLifecycle.Create(MediaItemState.Empty, Id, new CreateMediaItem("a.jpg", "image/jpeg", declared), T0);

    private static MediaItemState Multipart(long? declared = null) =>
        MediaItemLifecycle.OpenMultipart(Receiving(declared), 1, "upload-1", T0);

    private static UploadedPart Part(int number, long size, string etag = "\"e\"") => new(number, size, etag);

    [Fact]
    public void CreateTurnsAnUnusedIdIntoAReceivingItemWithAFirstLease()
    {
        var state = Receiving();

        Assert.Equal(MediaStatus.Receiving, state.Status);
        Assert.Equal(1, state.Lease);
        Assert.Equal($"media/{Id}/original", state.StorageKey);
        Assert.Equal("a.jpg", state.FileName);
        Assert.Equal(T0, state.CreatedAt);
    }

    [Theory]
    [InlineData(MediaStatus.Receiving)]
    [InlineData(MediaStatus.Stored)]
    [InlineData(MediaStatus.Failed)]
    public void CreateRefusesAnIdThatHoldsAnItemInAnyState(MediaStatus status)
    {
        var existing = Receiving() with { Status = status };

        var error = Assert.Throws<MediaException>(() =>
            MediaItemLifecycle.Create(existing, Id, new CreateMediaItem(null, "x/y", null), T0));
        Assert.Equal(MediaErrorCode.InvalidState, error.Code);
    }

    [Fact]
    public void PartsAreRecordedInOrderAndSumToTheSize()
    {
        var state = MediaItemLifecycle.RecordPart(Multipart(), 1, Part(1, 10), null, T0);
        state = MediaItemLifecycle.RecordPart(state, 1, Part(2, 5), null, T0);

        Assert.Equal(2, state.Parts.Length);
        Assert.Equal(15, state.Size);
    }

    [Fact]
    public void RerecordingTheLastPartReplacesItInsteadOfAddingIt()
    {
        var state = MediaItemLifecycle.RecordPart(Multipart(), 1, Part(1, 10, "\"old\""), null, T0);
        state = MediaItemLifecycle.RecordPart(state, 1, Part(1, 10, "\"new\""), null, T0);

        Assert.Single(state.Parts);
        Assert.Equal("\"new\"", state.Parts[0].ETag);
        Assert.Equal(10, state.Size);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void APartOutOfOrderIsRefused(int partNumber)
    {
        var state = MediaItemLifecycle.RecordPart(Multipart(), 1, Part(1, 10), null, T0);

        var error = Assert.Throws<MediaException>(() => MediaItemLifecycle.RecordPart(state, 1, Part(partNumber, 10), null, T0));
        Assert.Equal(MediaErrorCode.Inconsistent, error.Code);
    }

    [Fact]
    public void AWriterWithAnOldLeaseIsStale()
    {
        var error = Assert.Throws<MediaException>(() => MediaItemLifecycle.RecordPart(Multipart(), 0, Part(1, 10), null, T0));
        Assert.Equal(MediaErrorCode.StaleWriter, error.Code);
    }

    [Fact]
    public void PartsBeyondTheMaximumSizeAreRefused()
    {
        var error = Assert.Throws<MediaException>(() => MediaItemLifecycle.RecordPart(Multipart(), 1, Part(1, 11), 10, T0));
        Assert.Equal(MediaErrorCode.LimitExceeded, error.Code);
    }

    [Fact]
    public void PartsBeyondTheDeclaredLengthAreRefused()
    {
        var error = Assert.Throws<MediaException>(() => MediaItemLifecycle.RecordPart(Multipart(declared: 10), 1, Part(1, 11), null, T0));
        Assert.Equal(MediaErrorCode.Inconsistent, error.Code);
    }

    [Fact]
    public void APartNeedsBytesAndAnETag()
    {
        Assert.Throws<MediaException>(() => MediaItemLifecycle.RecordPart(Multipart(), 1, Part(1, 0), null, T0));
        Assert.Throws<MediaException>(() => MediaItemLifecycle.RecordPart(Multipart(), 1, Part(1, 5, ""), null, T0));
    }

    [Fact]
    public void CompletionPlanListsTheRecordedPartsWhenTheSizeMatches()
    {
        var state = MediaItemLifecycle.RecordPart(Multipart(), 1, Part(1, 10), null, T0);

        var plan = MediaItemLifecycle.PlanCompletion(state, 1, 10);

        Assert.Equal("upload-1", plan.UploadId);
        Assert.Equal(new[] { Part(1, 10) }, plan.Parts.ToArray());
    }

    [Fact]
    public void CompletionWithASizeTheRecordedPartsDoNotHoldIsRefused()
    {
        var state = MediaItemLifecycle.RecordPart(Multipart(), 1, Part(1, 10), null, T0);

        var error = Assert.Throws<MediaException>(() => MediaItemLifecycle.PlanCompletion(state, 1, 11));
        Assert.Equal(MediaErrorCode.Inconsistent, error.Code);
    }

    [Fact]
    public void AnItemIsStoredOnlyWhenTheStoreHoldsExactlyTheClaimedSize()
    {
        var state = MediaItemLifecycle.RecordPart(Multipart(), 1, Part(1, 10), null, T0);
        var claim = new CompleteUpload(1, 10, Sha, SinglePut: false);

        Assert.Throws<MediaException>(() => MediaItemLifecycle.MarkStored(state, claim, null, T0));
        Assert.Throws<MediaException>(() => MediaItemLifecycle.MarkStored(state, claim, 9, T0));
        var stored = MediaItemLifecycle.MarkStored(state, claim, 10, T0.AddSeconds(1));

        Assert.Equal(MediaStatus.Stored, stored.Status);
        Assert.Equal(10, stored.Size);
        Assert.Equal(Sha, stored.Sha256);
        Assert.Empty(stored.Parts);
        Assert.Null(stored.MultipartUploadId);
        Assert.Equal(T0.AddSeconds(1), stored.StoredAt);
    }

    [Fact]
    public void ASinglePutCompletionIsRefusedWhenAMultipartUploadWasOpened()
    {
        var error = Assert.Throws<MediaException>(() =>
            MediaItemLifecycle.CheckCompletion(Multipart(), new CompleteUpload(1, 0, Sha, SinglePut: true)));
        Assert.Equal(MediaErrorCode.Inconsistent, error.Code);
    }

    [Fact]
    public void ASinglePutMustMatchTheDeclaredLength()
    {
        Assert.Throws<MediaException>(() => MediaItemLifecycle.CheckCompletion(Receiving(declared: 5), new CompleteUpload(1, 4, Sha, SinglePut: true)));
        MediaItemLifecycle.CheckCompletion(Receiving(declared: 5), new CompleteUpload(1, 5, Sha, SinglePut: true));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")]
    public void ACompletionNeedsAHexSha256(string sha)
    {
        Assert.Throws<MediaException>(() => MediaItemLifecycle.CheckCompletion(Receiving(), new CompleteUpload(1, 0, sha, SinglePut: true)));
    }

    [Fact]
    public void AStoredItemCannotBeFailedOrWrittenByALateWriter()
    {
        var stored = MediaItemLifecycle.MarkStored(Receiving(), new CompleteUpload(1, 0, Sha, SinglePut: true), 0, T0);

        Assert.Equal(MediaErrorCode.InvalidState, Assert.Throws<MediaException>(() => MediaItemLifecycle.Fail(stored, 1, "late", T0)).Code);
        Assert.Equal(MediaErrorCode.InvalidState, Assert.Throws<MediaException>(() => MediaItemLifecycle.OpenMultipart(stored, 1, "u", T0)).Code);
    }

    [Fact]
    public void FailingAnUploadForgetsItsPartsAndKeepsTheReason()
    {
        var state = MediaItemLifecycle.RecordPart(Multipart(), 1, Part(1, 10), null, T0);

        var failed = MediaItemLifecycle.Fail(state, 1, "store down", T0);

        Assert.Equal(MediaStatus.Failed, failed.Status);
        Assert.Equal("store down", failed.FailureReason);
        Assert.Empty(failed.Parts);
        Assert.Equal(0, failed.Size);
    }

    [Fact]
    public void OperationsOnAnIdWithoutAnItemReportNotFound()
    {
        var error = Assert.Throws<MediaException>(() => MediaItemLifecycle.OpenMultipart(MediaItemState.Empty, 1, "u", T0));
        Assert.Equal(MediaErrorCode.NotFound, error.Code);
    }
}
