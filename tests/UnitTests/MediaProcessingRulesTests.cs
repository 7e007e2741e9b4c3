using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;

namespace MediaService.UnitTests;

public sealed class MediaProcessingRulesTests
{
    private const long Id = 77;
    private const long Max = 1L << 40;
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 8, 0, 0, TimeSpan.Zero);
    private static readonly ProcessingPolicy Policy = new(3, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60));
    private static readonly MediaFacts Facts = new() { Kind = MediaKind.Image, DetectedType = "image/png", Width = 2, Height = 1 };
    private static readonly Rendition Thumb = new("thumb.webp", "media/77/renditions/1/thumb.webp", "image/webp", 10, 2, 1, new string('b', 64));

    private static MediaItemState Stored(ConcatKind concat = ConcatKind.None)
    {
        var created = MediaItemLifecycle.Create(MediaItemState.Empty, Id, new CreateMediaItem("a.png", "image/jpeg", 3, null, null, concat), Max, T0);
        var (writing, grant, _) = MediaItemLifecycle.BeginAppend(created, Id, new BeginAppend(0, null), Max, 7, T0);
        return MediaItemLifecycle.MarkSinglePutStored(writing, Id, new RecordSinglePut(grant.Lease, grant.PutKey, 3, "\"e\"", null), 3, "\"e\"", T0);
    }

    private static ProcessingReport Report(int attempt, ProcessingOutcome outcome, string? reason = null) =>
        new(attempt, outcome, reason, Facts, outcome == ProcessingOutcome.Ready ? [Thumb] : []);

    [Fact]
    public void TheWriteThatStoresAnItemStartsItsFirstAttempt()
    {
        var stored = Stored();

        Assert.Equal(ProcessingStatus.Processing, stored.Processing!.Status);
        Assert.Equal(1, stored.Processing.Attempt);
        Assert.Equal(T0, stored.Processing.StartedAt);
        Assert.Null(stored.Processing.NextAttemptAt);
        Assert.Same(stored, MediaProcessingRules.Start(stored, T0)); // never started twice
    }

    [Fact]
    public void APartialUploadOfAConcatenationIsNotProcessed() => Assert.Null(Stored(ConcatKind.Partial).Processing);

    [Fact]
    public void TheCurrentAttemptsReportIsAppliedOnceAndOnlyOnce()
    {
        var (ready, applied) = MediaProcessingRules.Apply(Stored(), Report(1, ProcessingOutcome.Ready), Policy, 0.5, T0.AddSeconds(2));

        Assert.True(applied);
        Assert.Equal(ProcessingStatus.Ready, ready.Processing!.Status);
        Assert.Equal(T0.AddSeconds(2), ready.Processing.FinishedAt);
        Assert.Equal([Thumb], ready.Processing.Renditions.ToArray());
        Assert.Equal("image/png", MediaProcessingRules.ServedType(ready));
        Assert.Equal(Thumb, MediaProcessingRules.FindRendition(ready, "thumb.webp"));

        var (again, appliedAgain) = MediaProcessingRules.Apply(ready, Report(1, ProcessingOutcome.Ready), Policy, 0.5, T0.AddSeconds(3));
        Assert.False(appliedAgain);
        Assert.Same(ready, again);
    }

    [Fact]
    public void ASupersededAttemptsReportIsIgnored()
    {
        var second = MediaProcessingRules.NextAttempt(Stored(), Policy, T0.AddMinutes(1));

        Assert.Equal(2, second.Processing!.Attempt);
        var (unchanged, applied) = MediaProcessingRules.Apply(second, Report(1, ProcessingOutcome.Ready), Policy, 0.5, T0.AddMinutes(2));
        Assert.False(applied);
        Assert.Same(second, unchanged);
        Assert.True(MediaProcessingRules.Apply(second, Report(2, ProcessingOutcome.Ready), Policy, 0.5, T0.AddMinutes(2)).Applied);
    }

    [Fact]
    public void ATransientErrorWaitsWithBackoffThenTheNextAttemptRuns()
    {
        var (waiting, applied) = MediaProcessingRules.Apply(Stored(), Report(1, ProcessingOutcome.Transient, "S3 down"), Policy, 0.5, T0);

        Assert.True(applied);
        Assert.Equal(ProcessingStatus.Processing, waiting.Processing!.Status);
        Assert.Equal(T0.AddSeconds(5), waiting.Processing.NextAttemptAt);
        Assert.Equal("S3 down", waiting.Processing.Reason);
        Assert.False(MediaProcessingRules.IsDue(waiting, T0.AddSeconds(4)));
        Assert.True(MediaProcessingRules.IsDue(waiting, T0.AddSeconds(5)));
        Assert.False(MediaProcessingRules.Apply(waiting, Report(1, ProcessingOutcome.Ready), Policy, 0.5, T0).Applied); // a duplicate report

        var second = MediaProcessingRules.NextAttempt(waiting, Policy, T0.AddSeconds(5));
        Assert.Equal(2, second.Processing!.Attempt);
        Assert.Null(second.Processing.NextAttemptAt);
    }

    [Fact]
    public void TransientErrorsPastTheLastAttemptEndAsFailed()
    {
        var state = Stored();
        for (var attempt = 1; attempt < Policy.MaxAttempts; attempt++)
        {
            state = MediaProcessingRules.Apply(state, Report(attempt, ProcessingOutcome.Transient, "busy"), Policy, 0, T0).Next;
            state = MediaProcessingRules.NextAttempt(state, Policy, T0.AddHours(attempt));
        }

        var (failed, _) = MediaProcessingRules.Apply(state, Report(Policy.MaxAttempts, ProcessingOutcome.Transient, "busy"), Policy, 0, T0.AddHours(9));

        Assert.Equal(ProcessingStatus.Failed, failed.Processing!.Status);
        Assert.Contains("Gave up after 3 attempts", failed.Processing.Reason);
        Assert.Contains("busy", failed.Processing.Reason);
    }

    [Fact]
    public void LostAttemptsAlsoCountTowardsTheLimit()
    {
        var state = Stored();
        for (var i = 0; i < Policy.MaxAttempts; i++)
        {
            state = MediaProcessingRules.NextAttempt(state, Policy, T0.AddMinutes(i));
        }

        Assert.Equal(ProcessingStatus.Failed, state.Processing!.Status);
        Assert.Contains("lost", state.Processing.Reason);
    }

    [Theory]
    [InlineData(ProcessingOutcome.Rejected, ProcessingStatus.Rejected)]
    [InlineData(ProcessingOutcome.Failed, ProcessingStatus.Failed)]
    public void PermanentOutcomesEndProcessingWithTheirReason(ProcessingOutcome outcome, ProcessingStatus status)
    {
        var (ended, _) = MediaProcessingRules.Apply(Stored(), Report(1, outcome, "why"), Policy, 0.5, T0);

        Assert.Equal(status, ended.Processing!.Status);
        Assert.Equal("why", ended.Processing.Reason);
        Assert.Empty(ended.Processing.Renditions);
        Assert.Equal("application/octet-stream", MediaProcessingRules.ServedType(ended));
        Assert.Null(MediaProcessingRules.FindRendition(ended, "thumb.webp"));
    }

    [Fact]
    public void BackoffDoublesIsCappedAndSpreadByAFifth()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), MediaProcessingRules.Backoff(1, Policy, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(20), MediaProcessingRules.Backoff(3, Policy, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(60), MediaProcessingRules.Backoff(30, Policy, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(4), MediaProcessingRules.Backoff(1, Policy, 0));
        Assert.Equal(TimeSpan.FromSeconds(6), MediaProcessingRules.Backoff(1, Policy, 1));
    }

    [Fact]
    public void UntilProcessingAcceptsTheBytesTheOriginalIsOpaque() =>
        Assert.Equal("application/octet-stream", MediaProcessingRules.ServedType(Stored()));
}
