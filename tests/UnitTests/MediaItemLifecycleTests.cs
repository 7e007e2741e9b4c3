using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;

namespace MediaService.UnitTests;

public sealed class MediaItemLifecycleTests
{
    private const long Id = 4_242_424_242;
    private const long Max = 1L << 40;
    private const long Mib = 1024 * 1024;
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 8, 0, 0, TimeSpan.Zero);
    private static readonly string Sha = new('a', 64);

    private static MediaItemState Created(long? length = null, TimeSpan? expires = null) =>
        MediaItemLifecycle.Create(MediaItemState.Empty, Id, new CreateMediaItem("a.jpg", "image/jpeg", length, "filename YS5qcGc=", expires), Max, T0);

    private static (MediaItemState State, AppendGrant Grant) Begin(MediaItemState state, long offset = 0, long? length = null) =>
        MediaItemLifecycle.BeginAppend(state, new BeginAppend(offset, length), Max, T0);

    private static MediaItemState Open(MediaItemState state, long lease) => MediaItemLifecycle.OpenMultipart(state, lease, "upload-1", T0);

    private static MediaItemState Part(MediaItemState state, long lease, int number, long size, bool consumesTail = false, bool final = false) =>
        MediaItemLifecycle.RecordPart(state, new RecordPart(lease, new UploadedPart(number, size, $"\"e{number}\""), consumesTail, final), Max, T0);

    private static MediaErrorCode CodeOf(Action action) => Assert.Throws<MediaException>(action).Code;

    [Fact]
    public void CreateTurnsAnUnusedIdIntoAReceivingItemAtOffsetZero()
    {
        var state = Created(10, TimeSpan.FromHours(24));

        Assert.Equal(MediaStatus.Receiving, state.Status);
        Assert.Equal(0, state.Offset);
        Assert.Equal(10, state.DeclaredLength);
        Assert.Equal($"media/{Id}/original", state.StorageKey);
        Assert.Equal(T0.AddHours(24), state.ExpiresAt);
        Assert.Equal("filename YS5qcGc=", state.UploadMetadata);
    }

    [Theory]
    [InlineData(MediaStatus.Receiving)]
    [InlineData(MediaStatus.Stored)]
    [InlineData(MediaStatus.Failed)]
    [InlineData(MediaStatus.Terminated)]
    public void CreateRefusesAnIdThatHoldsAnItemInAnyState(MediaStatus status)
    {
        var existing = Created() with { Status = status };

        Assert.Equal(MediaErrorCode.InvalidState, CodeOf(() => MediaItemLifecycle.Create(existing, Id, new CreateMediaItem(null, "x/y", null), Max, T0)));
    }

    [Fact]
    public void CreateRefusesALengthOverTheMaximum()
    {
        Assert.Equal(MediaErrorCode.LimitExceeded,
            CodeOf(() => MediaItemLifecycle.Create(MediaItemState.Empty, Id, new CreateMediaItem(null, "x/y", 11), 10, T0)));
    }

    [Fact]
    public void AnAppendAtAnotherOffsetIsRefusedAndChangesNothing()
    {
        var state = Created();

        Assert.Equal(MediaErrorCode.OffsetMismatch, CodeOf(() => Begin(state, offset: 5)));
    }

    [Fact]
    public void ANewerAppendRevokesTheOlderWritersLease()
    {
        var (first, oldGrant) = Begin(Created());
        var (second, newGrant) = Begin(first);

        Assert.True(newGrant.Lease > oldGrant.Lease);
        Assert.Equal(MediaErrorCode.StaleWriter, CodeOf(() => Open(second, oldGrant.Lease)));
        Open(second, newGrant.Lease);
    }

    [Fact]
    public void PartNumbersAreNeverHandedOutTwice()
    {
        var (state, first) = Begin(Created());
        state = Open(state, first.Lease);
        var (reserved, more) = MediaItemLifecycle.ReserveParts(state, first.Lease, 4, T0);
        Assert.Equal(first.PartNumber + 1, more);
        state = Part(reserved, first.Lease, first.PartNumber, 5 * Mib);

        var (next, second) = Begin(state, offset: 5 * Mib);

        Assert.True(second.PartNumber > more + 3, "A new writer must not get numbers handed to the previous one.");
        Assert.Equal(MediaErrorCode.Inconsistent, CodeOf(() => Part(next, second.Lease, more, 5 * Mib)));
        Part(next, second.Lease, second.PartNumber, 5 * Mib);
    }

    [Fact]
    public void PartsSentAtOnceAreRecordedInAscendingOrderOnly()
    {
        var (state, grant) = Begin(Created());
        state = Open(state, grant.Lease);
        (state, var more) = MediaItemLifecycle.ReserveParts(state, grant.Lease, 2, T0);
        state = Part(state, grant.Lease, more, 5 * Mib);

        Assert.Equal(MediaErrorCode.Inconsistent, CodeOf(() => Part(state, grant.Lease, grant.PartNumber, 5 * Mib)));
        Assert.Equal(MediaErrorCode.Inconsistent, CodeOf(() => Part(state, grant.Lease, more + 2, 5 * Mib)));
        Part(state, grant.Lease, more + 1, 5 * Mib);
    }

    [Fact]
    public void NoMoreThanTenThousandPartNumbersAreHandedOut()
    {
        var (state, grant) = Begin(Created());
        (state, _) = MediaItemLifecycle.ReserveParts(state with { ReservedPartNumber = 9_998 }, grant.Lease, 2, T0);

        Assert.Equal(MediaErrorCode.LimitExceeded, CodeOf(() => MediaItemLifecycle.ReserveParts(state, grant.Lease, 1, T0)));
    }

    [Fact]
    public void OnlyTheFinalPartMayBeUnderThePartMinimum()
    {
        var (state, grant) = Begin(Created());
        state = Open(state, grant.Lease);

        Assert.Equal(MediaErrorCode.Inconsistent, CodeOf(() => Part(state, grant.Lease, grant.PartNumber, 1)));
        var final = Part(state, grant.Lease, grant.PartNumber, 1, final: true);
        Assert.Equal(1, final.DeclaredLength);
    }

    [Fact]
    public void RecordingTheSamePartTwiceChangesNothing()
    {
        var (state, grant) = Begin(Created());
        state = Open(state, grant.Lease);
        var once = Part(state, grant.Lease, grant.PartNumber, 5 * Mib);

        var twice = Part(once, grant.Lease, grant.PartNumber, 5 * Mib);

        Assert.Same(once, twice);
    }

    [Fact]
    public void PartsBeyondTheDeclaredLengthAreRefused()
    {
        var (state, grant) = Begin(Created(length: 6 * Mib));
        state = Open(state, grant.Lease);

        Assert.Equal(MediaErrorCode.LimitExceeded, CodeOf(() => Part(state, grant.Lease, grant.PartNumber, 7 * Mib, final: true)));
    }

    [Fact]
    public void APartThatReachesTheLengthMustBeFinal()
    {
        var (state, grant) = Begin(Created(length: 5 * Mib));
        state = Open(state, grant.Lease);

        Assert.Equal(MediaErrorCode.Inconsistent, CodeOf(() => Part(state, grant.Lease, grant.PartNumber, 5 * Mib)));
    }

    [Fact]
    public void ATailCountsInTheOffsetAndIsConsumedByTheNextPart()
    {
        var (state, grant) = Begin(Created());
        state = MediaItemLifecycle.RecordTail(state, new RecordTail(grant.Lease, "t1", 100), Max, T0);
        Assert.Equal(100, state.Offset);

        var (next, resumed) = Begin(state, offset: 100);
        Assert.Equal("t1", resumed.TailKey);
        Assert.Equal(100, resumed.TailSize);
        Assert.Equal(MediaErrorCode.Inconsistent, CodeOf(() => Part(Open(next, resumed.Lease), resumed.Lease, resumed.PartNumber, 5 * Mib)));

        var consumed = Part(Open(next, resumed.Lease), resumed.Lease, resumed.PartNumber, 5 * Mib, consumesTail: true);
        Assert.Null(consumed.TailKey);
        Assert.Equal(5 * Mib, consumed.Offset);
    }

    [Fact]
    public void ATailMustGrowAndStayUnderThePartMinimum()
    {
        var (state, grant) = Begin(Created());
        state = MediaItemLifecycle.RecordTail(state, new RecordTail(grant.Lease, "t1", 100), Max, T0);

        Assert.Equal(MediaErrorCode.Inconsistent, CodeOf(() => MediaItemLifecycle.RecordTail(state, new RecordTail(grant.Lease, "t2", 100), Max, T0)));
        Assert.Equal(MediaErrorCode.Inconsistent, CodeOf(() => MediaItemLifecycle.RecordTail(state, new RecordTail(grant.Lease, "t2", 5 * Mib), Max, T0)));
    }

    [Fact]
    public void ADeferredLengthIsDeclaredOnceAndCannotChange()
    {
        var (state, _) = Begin(Created(), length: 10);

        Assert.Equal(10, state.DeclaredLength);
        Assert.Equal(MediaErrorCode.Inconsistent, CodeOf(() => Begin(state, length: 11)));
        Begin(state, length: 10);
    }

    [Fact]
    public void CompletionListsTheRecordedPartsWhenTheSizeMatches()
    {
        var (state, grant) = Begin(Created());
        state = Part(Open(state, grant.Lease), grant.Lease, grant.PartNumber, 10, final: true);

        var plan = MediaItemLifecycle.PlanCompletion(state, grant.Lease, 10, T0);

        Assert.Equal("upload-1", plan.UploadId);
        Assert.Equal(new[] { new UploadedPart(grant.PartNumber, 10, $"\"e{grant.PartNumber}\"") }, plan.Parts.ToArray());
        Assert.Equal(MediaErrorCode.Inconsistent, CodeOf(() => MediaItemLifecycle.PlanCompletion(state, grant.Lease, 11, T0)));
    }

    [Fact]
    public void AnItemIsStoredOnlyWhenTheStoreHoldsExactlyTheClaimedSize()
    {
        var (state, grant) = Begin(Created());
        state = Part(Open(state, grant.Lease), grant.Lease, grant.PartNumber, 10, final: true);
        var claim = new CompleteUpload(grant.Lease, 10, Sha, SinglePut: false);

        Assert.Throws<MediaException>(() => MediaItemLifecycle.MarkStored(state, claim, null, null, T0));
        Assert.Throws<MediaException>(() => MediaItemLifecycle.MarkStored(state, claim, 9, null, T0));
        var stored = MediaItemLifecycle.MarkStored(state, claim, 10, "\"etag\"", T0.AddSeconds(1));

        Assert.Equal(MediaStatus.Stored, stored.Status);
        Assert.Equal(10, stored.Offset);
        Assert.Equal(Sha, stored.Sha256);
        Assert.Empty(stored.Parts);
        Assert.Null(stored.ExpiresAt);
        Assert.Equal($"\"{Sha}\"", MediaItemLifecycle.ContentETag(stored));
    }

    [Fact]
    public void WithoutAHashTheStoresETagValidatesTheContent()
    {
        var (state, grant) = Begin(Created());
        var stored = MediaItemLifecycle.MarkStored(state, new CompleteUpload(grant.Lease, 3, null, SinglePut: true), 3, "\"abc\"", T0);

        Assert.Equal("\"s3-abc\"", MediaItemLifecycle.ContentETag(stored));
    }

    [Fact]
    public void ASinglePutCompletionIsRefusedWhenAMultipartUploadIsOpen()
    {
        var (state, grant) = Begin(Created());

        Assert.Equal(MediaErrorCode.Inconsistent,
            CodeOf(() => MediaItemLifecycle.CheckCompletion(Open(state, grant.Lease), new CompleteUpload(grant.Lease, 0, Sha, SinglePut: true), T0)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")]
    public void ACompletionHashMustBeHex(string sha)
    {
        var (state, grant) = Begin(Created());

        Assert.Throws<MediaException>(() => MediaItemLifecycle.CheckCompletion(state, new CompleteUpload(grant.Lease, 0, sha, SinglePut: true), T0));
    }

    [Fact]
    public void AStoredItemCannotBeFailedAppendedToOrTerminated()
    {
        var (state, grant) = Begin(Created());
        var stored = MediaItemLifecycle.MarkStored(state, new CompleteUpload(grant.Lease, 0, Sha, SinglePut: true), 0, null, T0);

        Assert.Equal(MediaErrorCode.InvalidState, CodeOf(() => MediaItemLifecycle.Fail(stored, grant.Lease, "late", T0)));
        Assert.Equal(MediaErrorCode.InvalidState, CodeOf(() => Begin(stored)));
        Assert.Equal(MediaErrorCode.InvalidState, CodeOf(() => MediaItemLifecycle.Terminate(stored, T0)));
    }

    [Fact]
    public void ATerminatedUploadIsGoneAndForgetsItsBytes()
    {
        var (state, grant) = Begin(Created());
        state = MediaItemLifecycle.RecordTail(state, new RecordTail(grant.Lease, "t", 10), Max, T0);

        var terminated = MediaItemLifecycle.Terminate(state, T0);

        Assert.Equal(MediaStatus.Terminated, terminated.Status);
        Assert.Equal(0, terminated.Offset);
        Assert.Equal(MediaErrorCode.Gone, CodeOf(() => Begin(terminated)));
        Assert.Equal(MediaErrorCode.Gone, CodeOf(() => MediaItemLifecycle.Terminate(terminated, T0)));
    }

    [Fact]
    public void AnUnfinishedUploadIsGoneAfterItsExpiry()
    {
        var state = Created(expires: TimeSpan.FromHours(1));

        Assert.Equal(MediaErrorCode.Gone, CodeOf(() => MediaItemLifecycle.BeginAppend(state, new BeginAppend(0, null), Max, T0.AddHours(1))));
        Assert.Same(state, MediaItemLifecycle.Expire(state, T0.AddMinutes(59)));
        Assert.Equal(MediaStatus.Expired, MediaItemLifecycle.Expire(state, T0.AddHours(1)).Status);
    }

    [Fact]
    public void OperationsOnAnIdWithoutAnItemReportNotFound()
    {
        Assert.Equal(MediaErrorCode.NotFound, CodeOf(() => Begin(MediaItemState.Empty)));
    }

    [Fact]
    public void AFinalUploadIsWrittenOnlyByItsAssemblyEvenOnceStored()
    {
        var final = MediaItemLifecycle.Create(MediaItemState.Empty, Id,
            new CreateMediaItem(null, "x/y", 3, null, null, ConcatKind.Final, [1, 2]), Max, T0);

        Assert.Equal(MediaErrorCode.NotWritable, CodeOf(() => Begin(final)));
        var (assembling, grant) = MediaItemLifecycle.BeginAppend(final, new BeginAppend(0, null, Assembly: true), Max, T0);
        var stored = MediaItemLifecycle.MarkStored(assembling, new CompleteUpload(grant.Lease, 3, null, SinglePut: true), 3, null, T0);
        Assert.Equal(MediaErrorCode.NotWritable, CodeOf(() => Begin(stored, offset: 3)));
    }

    [Fact]
    public void OnlyAFinalUploadNamesPartials()
    {
        Assert.Equal(MediaErrorCode.Inconsistent, CodeOf(() => MediaItemLifecycle.Create(MediaItemState.Empty, Id,
            new CreateMediaItem(null, "x/y", 3, null, null, ConcatKind.Final, []), Max, T0)));
        Assert.Equal(MediaErrorCode.Inconsistent, CodeOf(() => MediaItemLifecycle.Create(MediaItemState.Empty, Id,
            new CreateMediaItem(null, "x/y", 3, null, null, ConcatKind.None, [1]), Max, T0)));
    }

    [Fact]
    public void StagedBytesCountOnlyOnceCommittedAndAreDroppedByTheNextAppend()
    {
        var (state, grant) = Begin(Created());
        state = MediaItemLifecycle.RecordTail(state, new RecordTail(grant.Lease, "t1", 100, Staged: true), Max, T0);
        Assert.Equal(0, state.Offset);

        var committed = MediaItemLifecycle.Commit(state, grant.Lease, T0);
        Assert.Equal(100, committed.Offset);

        var (dropped, _) = Begin(state);
        Assert.Null(dropped.Staged);
        Assert.Equal(0, dropped.Offset);
    }
}
