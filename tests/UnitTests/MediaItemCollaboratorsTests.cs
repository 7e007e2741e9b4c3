using System.Collections.Concurrent;
using MediaService.DataPlane;
using MediaService.DataPlane.Objects;
using MediaService.DataPlane.Sharding;
using MediaService.DataPlane.Webhooks;
using MediaService.Grains;
using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;
using MediaService.Grains.Processing;
using Microsoft.Extensions.Logging.Abstractions;

namespace MediaService.UnitTests;

/// <summary>The media item grain's collaborators, each over a fake of its seam: S3 custody, the index outbox, the
/// processing driver.</summary>
public sealed class MediaItemCollaboratorsTests
{
    private const long Id = 4_503_599_627_370_497;
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly UploadOptions Uploads = new();

    private static MediaItemState Completing(long size = 10)
    {
        var created = MediaItemLifecycle.Create(MediaItemState.Empty, Id, new CreateMediaItem("a.bin", "application/octet-stream", size, null, TimeSpan.FromHours(1)), 1L << 40, T0);
        var (begun, grant, _) = MediaItemLifecycle.BeginAppend(created, Id, new BeginAppend(0, size, Parts: 1), 1L << 40, 7, T0);
        var open = MediaItemLifecycle.OpenMultipart(begun, grant.Lease, "upload-1", T0);
        return MediaItemLifecycle.RecordPart(open, new RecordPart(grant.Lease, new UploadedPart(grant.PartNumber, size, "\"e1\""), false, true), 1L << 40, T0);
    }

    private static MediaItemState Stored(long size = 10)
    {
        var state = Completing(size);
        return MediaItemLifecycle.MarkAssembled(state, size, null, T0, answered: true);
    }

    private static ObjectCustody Custody(FakeLifecycle store) => new(Id, store, Uploads, NullLogger.Instance);

    [Fact]
    public async Task AssemblyIsAssembledWhenTheStoreAnswersAndHoldsTheRecordedSize()
    {
        var store = new FakeLifecycle();
        var assembly = await Custody(store).AssembleAsync(Completing());

        Assert.Equal(AssemblyOutcome.Assembled, assembly.Outcome);
        Assert.Null(assembly.Failure);
        Assert.Equal(10, assembly.Head!.Size);
        Assert.Equal(["complete " + Completing().StorageKey], store.Calls.Where(c => c.StartsWith("complete", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AnAssemblyWhoseAnswerWasLostIsSettledByTheObjectTheStoreHolds()
    {
        var store = new FakeLifecycle { CompleteFails = new Amazon.S3.AmazonS3Exception("gone") { ErrorCode = "NoSuchUpload", StatusCode = System.Net.HttpStatusCode.NotFound } };
        var assembly = await Custody(store).AssembleAsync(Completing());

        Assert.Equal(AssemblyOutcome.Assembled, assembly.Outcome);
        Assert.NotNull(assembly.Failure);
    }

    [Fact]
    public async Task AnAssemblyRefusedByTheStoreWithNoObjectEndsTheUpload()
    {
        var store = new FakeLifecycle { CompleteFails = new Amazon.S3.AmazonS3Exception("bad part") { ErrorCode = "InvalidPart", StatusCode = System.Net.HttpStatusCode.BadRequest }, AssembleOnComplete = false };
        var assembly = await Custody(store).AssembleAsync(Completing());

        Assert.Equal(AssemblyOutcome.Refused, assembly.Outcome);
        Assert.Equal("InvalidPart", assembly.RefusalCode);
    }

    [Fact]
    public async Task AStoreThatDoesNotAnswerTheAssemblyIsUnavailableWithItsRetryAfter()
    {
        var store = new FakeLifecycle
        {
            CompleteFails = new ObjectStoreUnavailableException("down", TimeSpan.FromSeconds(7), new TimeoutException()),
            AssembleOnComplete = false,
        };

        var ex = await Assert.ThrowsAsync<MediaException>(() => Custody(store).AssembleAsync(Completing()));

        Assert.Equal(MediaErrorCode.Unavailable, ex.Code);
        Assert.Equal(TimeSpan.FromSeconds(7), ex.RetryAfter);
    }

    [Fact]
    public async Task AThrottledAssemblyIsTriedAgainLaterNotFailed()
    {
        var store = new FakeLifecycle { CompleteFails = new Amazon.S3.AmazonS3Exception("slow down") { ErrorCode = "SlowDown", StatusCode = System.Net.HttpStatusCode.TooManyRequests }, AssembleOnComplete = false };

        var ex = await Assert.ThrowsAsync<MediaException>(() => Custody(store).AssembleAsync(Completing()));

        Assert.Equal(MediaErrorCode.Unavailable, ex.Code);
        Assert.Equal(Uploads.CompletionReminderDue, ex.RetryAfter);
    }

    [Fact]
    public async Task TheSweepDeletesWritersLeftoversButNeverTheItemsContent()
    {
        var store = new FakeLifecycle();
        var content = MediaKeys.PutPrefix(Id) + "5/content";
        store.Objects[content] = 10;
        store.Objects[MediaKeys.PutPrefix(Id) + "6/content"] = 10;
        store.Objects[MediaKeys.TailPrefix(Id) + "6/tail"] = 3;

        Assert.True(await Custody(store).SweepAsync(null, content));

        Assert.Equal([content], store.Objects.Keys);
    }

    [Fact]
    public async Task ASweepThatS3DoesNotAnswerReportsFalseSoItIsTriedAgain()
    {
        var store = new FakeLifecycle { DeletesFail = true };

        Assert.False(await Custody(store).SweepAsync("t", null));
    }

    [Fact]
    public async Task ARefusedWritersObjectIsDeletedButNotOneTheItemUses()
    {
        var store = new FakeLifecycle();
        var state = Stored();
        var refused = MediaKeys.PutPrefix(Id) + "99/content";
        store.Objects[refused] = 1;
        store.Objects[state.StorageKey!] = 10;

        Assert.True(await Custody(store).DeleteRefusedAsync(refused, MediaKeys.PutPrefix(Id), state));
        Assert.True(await Custody(store).DeleteRefusedAsync(state.StorageKey!, MediaKeys.PutPrefix(Id), state));
        Assert.True(await Custody(store).DeleteRefusedAsync("elsewhere/x", MediaKeys.PutPrefix(Id), state));

        Assert.False(store.Objects.ContainsKey(refused));
        Assert.True(store.Objects.ContainsKey(state.StorageKey!));
    }

    [Fact]
    public async Task TheOutboxWritesTheIndexRowOfALiveItemAndDeletesEverythingOfADeletedOne()
    {
        var store = new FakeLifecycle();
        var index = new FakeIndex();
        var outbox = Outbox(store, index, new FakeHandOff());
        var stored = Stored();
        store.Objects[stored.StorageKey!] = 10;
        outbox.IndexBehind = true;

        Assert.True(await outbox.SyncAsync(stored));
        Assert.False(outbox.IndexBehind);
        Assert.Equal([Id], index.Upserted);

        var deleted = MediaItemLifecycle.Delete(stored, null, T0);
        Assert.True(await outbox.SyncAsync(deleted));
        Assert.Equal([Id], index.Deleted);
        Assert.Empty(store.Objects);
    }

    [Fact]
    public async Task AnIndexThatDoesNotAnswerLeavesTheOutboxBehindForTheReminder()
    {
        var outbox = Outbox(new FakeLifecycle(), new FakeIndex { Fails = true }, new FakeHandOff());
        outbox.IndexBehind = true;

        Assert.False(await outbox.SyncAsync(Stored()));
        Assert.True(outbox.IndexBehind);
        Assert.False(outbox.CaughtUp(Stored()));
    }

    [Fact]
    public async Task AHandOffTrimsTheHandedEventsAndSaysHowManySubscriptionsTookThem()
    {
        var stored = Stored();
        var events = MediaEventRules.For(MediaItemState.Empty, stored with { Owner = "alice" }, Id, 1, T0);
        Assert.NotEmpty(events);
        var state = stored with { Owner = "alice", Outbox = events };

        var handOff = new FakeHandOff();
        var (trimmed, subscriptions) = await Outbox(new FakeLifecycle(), new FakeIndex(), handOff).HandOffAsync(state);

        Assert.Empty(trimmed.Outbox);
        Assert.Equal(0, subscriptions);
        Assert.Equal(events.Select(e => e.EventId), handOff.Handed.Select(e => e.EventId));
        Assert.Equal("alice", handOff.Owner);
    }

    [Fact]
    public void AFailingHandOffBacksOffUpToThirtySeconds()
    {
        var outbox = Outbox(new FakeLifecycle(), new FakeIndex(), new FakeHandOff());
        var delays = Enumerable.Range(0, 8).Select(_ => outbox.Deferred(1, new TimeoutException())).ToList();

        Assert.Equal([1, 2, 4, 8, 16, 30, 30, 30], delays.Select(d => (int)d.TotalSeconds));
        outbox.HandedOff([], 0, T0);
        Assert.Equal(TimeSpan.FromSeconds(1), outbox.Deferred(1, new TimeoutException()));
    }

    [Fact]
    public void TheOutboxOverflowsAtItsBound()
    {
        var state = Stored() with { Outbox = [.. Enumerable.Repeat(MediaEventRules.For(MediaItemState.Empty, Stored(), Id, 1, T0)[0], MediaEventRules.MaxOutbox - 1)] };

        Assert.False(IndexOutbox.Overflows(state, 1));
        Assert.True(IndexOutbox.Overflows(state, 2));
    }

    [Fact]
    public void TheDriverQueuesAnAttemptOncePerActivation()
    {
        var queue = new FakeQueue();
        var driver = new ProcessingDriver(Id, queue, new ProcessingOptions());
        var stored = Stored();
        Assert.True(stored.Processing is { Pending: true });

        Assert.True(driver.Dispatch(stored));
        Assert.False(driver.Dispatch(stored));
        Assert.Single(queue.Jobs);
        Assert.Equal(stored.Processing!.Attempt, driver.Running);
    }

    [Fact]
    public void AnAttemptRunningWithinItsTimeoutIsLeftAloneAndOneSilentForLongerIsReplaced()
    {
        var options = new ProcessingOptions();
        var driver = new ProcessingDriver(Id, new FakeQueue(), options);
        var stored = Stored();
        driver.Dispatch(stored);
        var started = stored.Processing!.AttemptStartedAt;

        Assert.Equal(AttemptCheck.None, driver.Check(stored, started + options.JobTimeout));
        Assert.Equal(AttemptCheck.StartNext, driver.Check(stored, started + options.JobTimeout + options.ReminderPeriod));
        Assert.Null(driver.Running);
    }

    [Fact]
    public void ANewActivationReplacesTheRecordedAttemptAtOnceAndWaitsForARetryThatIsNotDue()
    {
        var driver = new ProcessingDriver(Id, new FakeQueue(), new ProcessingOptions());
        var stored = Stored();

        Assert.Equal(AttemptCheck.StartNext, driver.Check(stored, T0));

        var retrying = stored with { Processing = stored.Processing! with { NextAttemptAt = T0.AddMinutes(5) } };
        Assert.Equal(AttemptCheck.Wait, driver.Check(retrying, T0.AddMinutes(1)));
        Assert.Equal(TimeSpan.FromMinutes(4), driver.DueIn);
    }

    [Fact]
    public void OnlyTheRunningAttemptsReportCountsAsThisActivations()
    {
        var driver = new ProcessingDriver(Id, new FakeQueue(), new ProcessingOptions());
        var stored = Stored();
        driver.Dispatch(stored);

        Assert.False(driver.Reported(stored.Processing!.Attempt + 1));
        Assert.True(driver.Reported(stored.Processing.Attempt));
        Assert.False(driver.Reported(stored.Processing.Attempt));
    }

    private static IndexOutbox Outbox(FakeLifecycle store, FakeIndex index, FakeHandOff handOff) =>
        new(Id, "svc", index, handOff, null!, Custody(store), TimeSpan.FromSeconds(1), new DataPlane.Telemetry.MediaMetrics(new TestMeterFactory()), NullLogger.Instance);

    private sealed class FakeLifecycle : IObjectLifecycle
    {
        public ConcurrentDictionary<string, long> Objects { get; } = new();

        public ConcurrentQueue<string> Calls { get; } = new();

        public Exception? CompleteFails { get; init; }

        public bool AssembleOnComplete { get; init; } = true;

        public bool DeletesFail { get; init; }

        public Task<string> StartMultipartAsync(string key, string contentType, CancellationToken cancellationToken) => Task.FromResult("upload-1");

        public Task CompleteMultipartAsync(string key, string uploadId, IReadOnlyList<PartETag> parts, long size, CancellationToken cancellationToken)
        {
            Calls.Enqueue("complete " + key);
            if (AssembleOnComplete)
            {
                Objects[key] = size;
            }

            return CompleteFails is { } failure ? Task.FromException(failure) : Task.CompletedTask;
        }

        public Task<bool> TryAbortMultipartAsync(string key, string uploadId, CancellationToken cancellationToken) => Task.FromResult(true);

        public Task DeleteAsync(string key, CancellationToken cancellationToken)
        {
            if (DeletesFail)
            {
                return Task.FromException(new ObjectStoreUnavailableException("down", TimeSpan.FromSeconds(1), new TimeoutException()));
            }

            Objects.TryRemove(key, out _);
            return Task.CompletedTask;
        }

        public async Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken, string? except = null)
        {
            foreach (var key in Objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && (except is null || !k.StartsWith(except, StringComparison.Ordinal))))
            {
                await DeleteAsync(key, cancellationToken);
            }
        }

        public Task<ObjectHead?> HeadAfterWriteAsync(string key, long expectedSize, CancellationToken cancellationToken) =>
            Task.FromResult(Objects.TryGetValue(key, out var size) ? new ObjectHead(size, "\"etag\"") : null);
    }

    private sealed class FakeIndex : IIndexWriter
    {
        public List<long> Upserted { get; } = [];

        public List<long> Deleted { get; } = [];

        public bool Fails { get; init; }

        public Task<bool> UpsertAsync(string serviceId, IndexEntry entry, CancellationToken cancellationToken)
        {
            if (Fails)
            {
                throw new TimeoutException("index down");
            }

            Upserted.Add(entry.MediaId);
            return Task.FromResult(true);
        }

        public Task<bool> DeleteAsync(string serviceId, long mediaId, CancellationToken cancellationToken)
        {
            Deleted.Add(mediaId);
            return Task.FromResult(true);
        }
    }

    private sealed class FakeHandOff : IEventHandOff
    {
        public List<OutboxEvent> Handed { get; } = [];

        public string? Owner { get; private set; }

        public Task<IReadOnlyList<long>> HandOffAsync(string serviceId, string owner, long mediaId, IReadOnlyList<OutboxEvent> events, CancellationToken cancellationToken)
        {
            Owner = owner;
            Handed.AddRange(events);
            return Task.FromResult<IReadOnlyList<long>>([]);
        }
    }

    private sealed class FakeQueue : IProcessingQueue
    {
        public List<ProcessingJob> Jobs { get; } = [];

        public void Enqueue(ProcessingJob job) => Jobs.Add(job);
    }

    private sealed class TestMeterFactory : System.Diagnostics.Metrics.IMeterFactory
    {
        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}
