using MediaService.DataPlane;
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

    private static (MediaItemState State, AppendGrant Grant) Begin(MediaItemState state, long offset = 0, long? length = null, int parts = 1)
    {
        var (next, grant, _) = MediaItemLifecycle.BeginAppend(state, Id, new BeginAppend(offset, length, Parts: parts), Max, state.Lease + 1, T0);
        return (next, grant);
    }

    private static RecordSinglePut Put(AppendGrant grant, long size, string? sha = null) => new(grant.Lease, grant.PutKey, size, "\"p\"", sha);

    private static MediaItemState StoredByPut(MediaItemState state, AppendGrant grant, long size, string? sha = null) =>
        MediaItemLifecycle.MarkSinglePutStored(state, Id, Put(grant, size, sha), size, "\"p\"", T0);

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
    public void AnOffsetRetrievalFencesTheWriterOffAndKeepsWhatItRecorded()
    {
        var (writing, grant) = Begin(Created(length: 10 * Mib), parts: 2);
        writing = Part(Open(writing, grant.Lease), grant.Lease, grant.PartNumber, 5 * Mib);

        var (fenced, durable) = MediaItemLifecycle.FenceWriters(writing, writing.Lease + 100, T0);

        Assert.False(durable);
        Assert.Equal(5 * Mib, fenced.Offset);
        // The fenced-off writer's next part is refused: the offset reported stays true for the next append.
        Assert.Equal(MediaErrorCode.StaleWriter, CodeOf(() => Part(fenced, grant.Lease, grant.PartNumber + 1, 5 * Mib, final: true)));
        var (_, next) = Begin(fenced, offset: 5 * Mib);
        Assert.Equal(5 * Mib, next.Offset);
    }

    [Fact]
    public void AFenceLeavesAnItemThatIsNotReceivingAsItIs()
    {
        var (state, grant) = Begin(Created());
        var stored = StoredByPut(state, grant, 3);

        var (same, durable) = MediaItemLifecycle.FenceWriters(stored, stored.Lease + 1, T0);

        Assert.Same(stored, same);
        Assert.False(durable);
    }

    [Fact]
    public void PartNumbersAreNeverHandedOutTwice()
    {
        var (state, first) = Begin(Created());
        state = Open(state, first.Lease);
        var (reserved, more, _) = MediaItemLifecycle.ReserveParts(state, first.Lease, 4, T0);
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
        (state, var more, _) = MediaItemLifecycle.ReserveParts(state, grant.Lease, 2, T0);
        state = Part(state, grant.Lease, more, 5 * Mib);

        Assert.Equal(MediaErrorCode.Inconsistent, CodeOf(() => Part(state, grant.Lease, grant.PartNumber, 5 * Mib)));
        Assert.Equal(MediaErrorCode.Inconsistent, CodeOf(() => Part(state, grant.Lease, more + 2, 5 * Mib)));
        Part(state, grant.Lease, more + 1, 5 * Mib);
    }

    [Fact]
    public void NoMoreThanTenThousandPartNumbersAreHandedOut()
    {
        var (state, grant) = Begin(Created());
        (state, _, _) = MediaItemLifecycle.ReserveParts(state with { ReservedPartNumber = 9_998 }, grant.Lease, 2, T0);

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
    public void TheFinalPartMakesTheItemCompletingWithoutReportingItStored()
    {
        var (state, grant) = Begin(Created(length: 10));
        state = Part(Open(state, grant.Lease), grant.Lease, grant.PartNumber, 10, final: true);

        Assert.Equal(MediaStatus.Completing, state.Status);
        var plan = MediaItemLifecycle.PlanCompletion(state);
        Assert.Equal("upload-1", plan.UploadId);
        Assert.Equal(10, plan.Size);
        Assert.Equal(new[] { new UploadedPart(grant.PartNumber, 10, $"\"e{grant.PartNumber}\"") }, plan.Parts.ToArray());

        // Nobody writes to a completing item, and nobody can end it: every byte is in S3.
        Assert.Equal(MediaErrorCode.InvalidState, CodeOf(() => Begin(state, offset: 10)));
        Assert.Equal(MediaErrorCode.InvalidState, CodeOf(() => MediaItemLifecycle.Terminate(state, T0)));
        Assert.Equal(MediaErrorCode.InvalidState, CodeOf(() => MediaItemLifecycle.Fail(state, grant.Lease, "late", T0)));
        var expiring = state with { ExpiresAt = T0 };
        Assert.Same(expiring, MediaItemLifecycle.Expire(expiring, T0.AddDays(2)));
    }

    [Fact]
    public void ACompletingItemIsStoredOnlyWhenTheStoreHoldsExactlyTheRecordedSize()
    {
        var (state, grant) = Begin(Created());
        state = Part(Open(state, grant.Lease), grant.Lease, grant.PartNumber, 10, final: true);
        state = state with { PendingSha256 = Sha };

        Assert.Equal(CompletionCheck.Missing, MediaItemLifecycle.CheckAssembled(state, null, null));
        Assert.Equal(CompletionCheck.Wrong, MediaItemLifecycle.CheckAssembled(state, 9, "\"x\""));
        Assert.Throws<MediaException>(() => MediaItemLifecycle.MarkAssembled(state, 9, null, T0));
        var stored = MediaItemLifecycle.MarkAssembled(state, 10, "\"etag\"", T0.AddSeconds(1));

        Assert.Equal(MediaStatus.Stored, stored.Status);
        Assert.Equal(10, stored.Offset);
        Assert.Equal(Sha, stored.Sha256);
        Assert.Empty(stored.Parts);
        Assert.Null(stored.ExpiresAt);
        Assert.Null(stored.MultipartUploadId);
        Assert.Equal($"\"{Sha}\"", MediaItemLifecycle.ContentETag(stored));
    }

    [Fact]
    public void AnAssembledObjectOfOtherPartsIsNotAccepted()
    {
        var (state, grant) = Begin(Created());
        state = Open(state, grant.Lease);
        var part = new UploadedPart(grant.PartNumber, 10, "\"0123456789abcdef0123456789abcdef\"");
        state = MediaItemLifecycle.RecordPart(state, new RecordPart(grant.Lease, part, false, true), Max, T0);
        var ours = MultipartETag.Compute([part.ETag]);

        Assert.Equal(CompletionCheck.Assembled, MediaItemLifecycle.CheckAssembled(state, 10, $"\"{ours}\""));
        Assert.Equal(CompletionCheck.Wrong, MediaItemLifecycle.CheckAssembled(state, 10, "\"ffffffffffffffffffffffffffffffff-1\""));
        // A store whose ETag is not a multipart one (s3rver: the MD5 of the whole object) is judged by the size alone.
        Assert.Equal(CompletionCheck.Assembled, MediaItemLifecycle.CheckAssembled(state, 10, "\"fedcba98765432100123456789abcdef\""));
    }

    [Fact]
    public void ACompletionThatCanNeverSucceedFailsTheItemAndReleasesItsParts()
    {
        var (state, grant) = Begin(Created());
        state = Part(Open(state, grant.Lease), grant.Lease, grant.PartNumber, 10, final: true);

        var failed = MediaItemLifecycle.FailCompletion(state, "lost", T0);

        Assert.Equal(MediaStatus.Failed, failed.Status);
        Assert.Null(failed.MultipartUploadId);
        Assert.Equal(MediaErrorCode.InvalidState, CodeOf(() => MediaItemLifecycle.FailCompletion(failed, "again", T0)));
    }

    [Fact]
    public void AStagedFinalPartCompletesOnlyOnceCommitted()
    {
        var (state, grant) = Begin(Created(length: 10));
        state = Open(state, grant.Lease);
        state = MediaItemLifecycle.RecordPart(state, new RecordPart(grant.Lease, new UploadedPart(grant.PartNumber, 10, "\"e\""), false, true, Staged: true), Max, T0);

        Assert.Equal(MediaStatus.Receiving, state.Status);
        Assert.Equal(0, state.Offset);
        var committed = MediaItemLifecycle.Commit(state, grant.Lease, T0);
        Assert.Equal(MediaStatus.Completing, committed.Status);
    }

    [Fact]
    public void ASinglePutIsStoredOnlyWhenTheStoreHoldsExactlyTheReportedObject()
    {
        var (state, grant) = Begin(Created(length: 3));

        Assert.StartsWith($"media/{Id}/put/", grant.PutKey);
        Assert.Throws<MediaException>(() => MediaItemLifecycle.MarkSinglePutStored(state, Id, Put(grant, 3), null, null, T0));
        Assert.Throws<MediaException>(() => MediaItemLifecycle.MarkSinglePutStored(state, Id, Put(grant, 3), 3, "\"other\"", T0));
        var stored = StoredByPut(state, grant, 3);

        Assert.Equal(MediaStatus.Stored, stored.Status);
        Assert.Equal(grant.PutKey, stored.StorageKey);
        Assert.Equal("\"s3-p\"", MediaItemLifecycle.ContentETag(stored));
    }

    [Fact]
    public void ASupersededSinglePutWriterCannotReplaceTheStoredContent()
    {
        var (state, older) = Begin(Created(length: 3));
        var (taken, newer) = Begin(state);
        var stored = StoredByPut(taken, newer, 3, Sha);

        Assert.NotEqual(older.PutKey, newer.PutKey);
        Assert.Equal(MediaErrorCode.StaleWriter, CodeOf(() => MediaItemLifecycle.CheckSinglePut(taken, Id, Put(older, 3), T0)));
        Assert.Equal(MediaErrorCode.InvalidState, CodeOf(() => MediaItemLifecycle.CheckSinglePut(stored, Id, Put(older, 3), T0)));
        Assert.Equal(MediaErrorCode.Inconsistent,
            CodeOf(() => MediaItemLifecycle.CheckSinglePut(taken, Id, Put(newer, 3) with { Key = "media/1/original" }, T0)));
    }

    [Fact]
    public void ASinglePutIsRefusedWhenAMultipartUploadIsOpen()
    {
        var (state, grant) = Begin(Created());

        Assert.Equal(MediaErrorCode.Inconsistent, CodeOf(() => MediaItemLifecycle.CheckSinglePut(Open(state, grant.Lease), Id, Put(grant, 0), T0)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")]
    public void ACompletionHashMustBeHex(string sha)
    {
        var (state, grant) = Begin(Created());

        Assert.Throws<MediaException>(() => MediaItemLifecycle.CheckSinglePut(state, Id, Put(grant, 0, sha), T0));
    }

    [Fact]
    public void AStoredItemCannotBeFailedAppendedToOrTerminated()
    {
        var (state, grant) = Begin(Created());
        var stored = StoredByPut(state, grant, 0, Sha);

        Assert.Equal(MediaErrorCode.InvalidState, CodeOf(() => MediaItemLifecycle.Fail(stored, grant.Lease, "late", T0)));
        Assert.Equal(MediaErrorCode.InvalidState, CodeOf(() => Begin(stored)));
        Assert.Equal(MediaErrorCode.InvalidState, CodeOf(() => MediaItemLifecycle.Terminate(stored, T0)));
    }

    [Fact]
    public void AnAppendThatOnlyGrowsTheTailSpendsNoPartNumber()
    {
        var state = Created();
        for (var i = 0; i < 12_000; i++)
        {
            var (next, grant) = Begin(state, offset: i, parts: 0);
            Assert.Equal(0, grant.PartNumber);
            state = MediaItemLifecycle.RecordTail(next, new RecordTail(grant.Lease, $"t{i}", i + 1), Max, T0);
        }

        Assert.Equal(12_000, state.Offset);
        Assert.Equal(0, state.ReservedPartNumber);
    }

    [Fact]
    public void ATakeoverNeedsNoWriteUntilThePartNumberCeilingRises()
    {
        var (state, first, durable) = MediaItemLifecycle.BeginAppend(Created(), Id, new BeginAppend(0, null, Parts: 1), Max, 11, T0);
        Assert.True(durable, "The first numbers raise the ceiling.");
        Assert.Equal(MediaItemLifecycle.PartNumberBlock, state.PartNumberCeiling);

        var (next, second, again) = MediaItemLifecycle.BeginAppend(state, Id, new BeginAppend(0, null, Parts: 1), Max, 12, T0);
        Assert.False(again, "A takeover within the ceiling stays in memory.");
        Assert.Equal(first.PartNumber + 1, second.PartNumber);

        // A new activation starts above every number the last one may have handed out.
        var reactivated = MediaItemLifecycle.Reactivated(state with { ReservedPartNumber = 1 });
        Assert.Equal(MediaItemLifecycle.PartNumberBlock, reactivated.ReservedPartNumber);
        Assert.True(MediaItemLifecycle.BeginAppend(reactivated, Id, new BeginAppend(0, null, Parts: 1), Max, 13, T0).Grant.PartNumber > next.ReservedPartNumber);
    }

    [Fact]
    public void AReactivatedItemStartsAboveTheCeilingAlsoForWhatIsStaged()
    {
        var (state, grant) = Begin(Created(), parts: 0);
        state = MediaItemLifecycle.RecordTail(state, new RecordTail(grant.Lease, "t1", 100, Staged: true), Max, T0);
        state = state with { PartNumberCeiling = 32, ReservedPartNumber = 3, Staged = state.Staged! with { PartNumberCeiling = 16, ReservedPartNumber = 2 } };

        var reactivated = MediaItemLifecycle.Reactivated(state);

        Assert.Equal(32, reactivated.ReservedPartNumber);
        Assert.Equal(32, reactivated.Staged!.ReservedPartNumber);
        Assert.Equal(32, MediaItemLifecycle.Commit(reactivated, grant.Lease, T0).ReservedPartNumber);
    }

    [Fact]
    public void ADeclaredLengthOrDroppedStagedBytesMakeTheGrantDurable()
    {
        var (_, _, declared) = MediaItemLifecycle.BeginAppend(Created(), Id, new BeginAppend(0, 10), Max, 5, T0);
        Assert.True(declared);

        var (state, grant) = Begin(Created(), parts: 0);
        state = MediaItemLifecycle.RecordTail(state, new RecordTail(grant.Lease, "t1", 100, Staged: true), Max, T0);
        var (_, _, dropped) = MediaItemLifecycle.BeginAppend(state, Id, new BeginAppend(0, null), Max, 99, T0);
        Assert.True(dropped);
    }

    [Fact]
    public void AOneShotUploadExpiresAfterItsIdleTimeSinceTheLastProgress()
    {
        var created = MediaItemLifecycle.Create(MediaItemState.Empty, Id,
            new CreateMediaItem(null, "x/y", null, Expires: TimeSpan.FromMinutes(5), SlidingExpiry: true), Max, T0);
        var (state, grant) = Begin(created, parts: 0);
        var later = T0.AddMinutes(4);
        state = MediaItemLifecycle.RecordTail(state, new RecordTail(grant.Lease, "t", 10), Max, later);

        Assert.Equal(later.AddMinutes(5), state.ExpiresAt);
        Assert.Same(state, MediaItemLifecycle.Expire(state, T0.AddMinutes(6)));
        Assert.Equal(MediaStatus.Expired, MediaItemLifecycle.Expire(state, later.AddMinutes(5)).Status);
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

        Assert.Equal(MediaErrorCode.Gone, CodeOf(() => MediaItemLifecycle.BeginAppend(state, Id, new BeginAppend(0, null), Max, 5, T0.AddHours(1))));
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
        var (assembling, grant, _) = MediaItemLifecycle.BeginAppend(final, Id, new BeginAppend(0, null, Assembly: true), Max, 5, T0);
        var stored = StoredByPut(assembling, grant, 3);
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
