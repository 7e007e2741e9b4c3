using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using MediaService.DataPlane;
using MediaService.Grains.Domain;
using MediaService.Grains.Interfaces;
using Xunit.Abstractions;

namespace MediaService.UnitTests;

/// <summary>
/// Model-based tests of the upload protocol: random interleavings of creations, appends, S3 acknowledgements, lease
/// takeovers, writers that die or go on writing other bytes after they were superseded, activations that crash (losing
/// what was only in memory), assemblies whose answer is lost, and HEADs, all run against the domain rules and a model of
/// S3 (parts by number, objects by key, multipart ETags as AWS computes them). Bytes are modelled as segments of their
/// source (the client's file, or a stale writer's other bytes), so that multi-MiB parts cost nothing.
/// The property: every offset a client was told is backed by exactly the file's bytes in S3, nothing a client was
/// told is ever lost or changed, and the upload can always finish with the file's bytes.
/// </summary>
public sealed class UploadProtocolModelTests(ITestOutputHelper output)
{
    private const long Mib = 1024 * 1024;

    [Fact]
    public void NoAcknowledgedByteIsLostOrChangedAndEveryUploadCanFinish()
    {
        var sequences = int.TryParse(Environment.GetEnvironmentVariable("MODEL_SEQUENCES"), out var n) ? n : 20_000;
        var steps = 0L;
        var seen = new Dictionary<string, int>();
        for (var seed = 1; seed <= sequences; seed++)
        {
            try
            {
                var sequence = new Sequence(seed);
                steps += sequence.Run();
                foreach (var (what, count) in sequence.Seen)
                {
                    seen[what] = seen.GetValueOrDefault(what) + count;
                }
            }
            catch (Exception ex)
            {
                throw new Xunit.Sdk.XunitException($"Sequence {seed} broke the property (run it again with this seed): {ex}");
            }
        }

        output.WriteLine($"{sequences} random sequences, {steps} steps, ran without finding a lost, changed or unfinishable upload.");
        output.WriteLine(string.Join(", ", seen.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}")));

        // The sequences reach the interesting places, or the property says little.
        foreach (var what in new[] { "stored by one object", "stored by assembly", "assembly answer lost", "settled after a lost answer", "stale report refused", "rogue bytes written", "activation crashed", "writer died" })
        {
            Assert.True(seen.GetValueOrDefault(what) > 0, $"No sequence had: {what}.");
        }
    }

    // One random run: a grain model over the domain rules, writers as step-by-step coroutines, and a checker.
    private sealed class Sequence(int seed)
    {
        private const long Id = 4_242_424_242;
        private const int PartSize = (int)(8 * Mib);
        private readonly Random _random = new(seed);
        private readonly FakeS3 _s3 = new();
        private readonly List<IEnumerator<bool>> _writers = [];
        private readonly long _length = seed % 5 == 0 ? new Random(seed).Next(1, 3000) : new Random(seed).NextInt64(1, 40 * Mib);
        private MediaItemState _durable = MediaItemState.Empty;
        private MediaItemState _memory = MediaItemState.Empty;
        private long _told;
        private bool _toldComplete;
        private bool _lostAnswer;
        private int _steps;

        /// <summary>How often each interesting thing happened.</summary>
        public Dictionary<string, int> Seen { get; } = [];

        private void Saw(string what) => Seen[what] = Seen.GetValueOrDefault(what) + 1;

        public int Run()
        {
            _durable = _memory = MediaItemLifecycle.Create(MediaItemState.Empty, Id, new CreateMediaItem(null, "x/y", _length), long.MaxValue, Now);
            for (var i = 0; i < 60; i++)
            {
                Step(_random.Next(10));
            }

            // Whatever happened, a client that follows the protocol finishes: HEAD, then one append of the rest.
            _writers.Clear();
            for (var attempt = 0; attempt < 50 && !_toldComplete; attempt++)
            {
                var writer = Writer(Head(), _length, source: 0, rogueAfterTakeover: false);
                while (writer.MoveNext())
                {
                    _steps++;
                }
            }

            Head();
            Check(_toldComplete, "A client following the protocol could not finish the upload.");
            Check(_durable.Status == MediaStatus.Stored, "The upload ended without being stored.");
            Check(Normalize(_s3.Objects[_durable.StorageKey!]).SequenceEqual([new Seg(0, 0, _length)]), "The stored object is not the file.");
            return _steps;
        }

        private void Step(int what)
        {
            _steps++;
            switch (what)
            {
                case 0 or 1 when _writers.Count < 3:
                    // A client (re)starts: HEAD, then an append of a random piece from there.
                    var offset = Head();
                    if (!_toldComplete)
                    {
                        var chunk = _random.Next(4) switch
                        {
                            0 => _random.NextInt64(1, 64 * 1024),
                            1 => _random.NextInt64(5 * Mib, 9 * Mib),
                            _ => _length - offset,
                        };
                        _writers.Add(Writer(offset, Math.Min(_length, offset + chunk), source: 0, rogueAfterTakeover: _random.Next(2) == 0));
                    }

                    break;
                case 2:
                    // The grain's activation dies: only what PostgreSQL holds survives.
                    _memory = MediaItemLifecycle.Reactivated(_durable);
                    Saw("activation crashed");
                    break;
                case 3 when _writers.Count > 0:
                    // A writer's frontend dies between two steps.
                    _writers.RemoveAt(_random.Next(_writers.Count));
                    Saw("writer died");
                    break;
                case 4:
                    Head();
                    break;
                default:
                    if (_writers.Count > 0)
                    {
                        var index = _random.Next(_writers.Count);
                        if (!_writers[index].MoveNext())
                        {
                            _writers.RemoveAt(index);
                        }
                    }

                    break;
            }
        }

        // What a client is told by HEAD (a completing item is finished first); checks it.
        private long Head()
        {
            if (_memory.Status == MediaStatus.Completing)
            {
                TryComplete();
            }

            var view = _memory;
            if (view.Status == MediaStatus.Stored)
            {
                Told(_length, complete: true);
                return _length;
            }

            Check(view.Status is MediaStatus.Receiving or MediaStatus.Completing, $"The upload is {view.Status}.");
            if (view.Status == MediaStatus.Completing)
            {
                // HEAD answers 423 here: no offset is told.
                return _told;
            }

            Told(view.Offset, complete: false);
            return view.Offset;
        }

        private void Told(long offset, bool complete)
        {
            Check(offset >= _told || complete, $"The offset went back from {_told} to {offset}.");
            _told = Math.Max(_told, offset);
            _toldComplete |= complete;
            Check(Durable().Take(offset).SequenceEqual(offset == 0 ? Array.Empty<Seg>() : new[] { new Seg(0, 0, offset) }), $"Offset {offset} was told but S3 holds other bytes before it.");
            if (_toldComplete)
            {
                Check(_durable.Status == MediaStatus.Stored, "A client was told complete, but the item is not stored.");
            }
        }

        // The bytes PostgreSQL's state says are durable, read from the S3 model.
        private Content Durable()
        {
            if (_durable.Status == MediaStatus.Stored)
            {
                return Normalize(_s3.Objects[_durable.StorageKey!]);
            }

            var bytes = ImmutableList<Seg>.Empty;
            foreach (var part in _durable.Parts)
            {
                var stored = _s3.Parts.GetValueOrDefault((_durable.MultipartUploadId!, part.PartNumber));
                Check(stored is not null && FakeS3.ETag(stored) == part.ETag, $"Recorded part {part.PartNumber} is not in S3 as recorded.");
                bytes = bytes.AddRange(stored!);
            }

            if (_durable.TailKey is { } tail)
            {
                Check(_s3.Objects.ContainsKey(tail), "The recorded tail is not in S3.");
                bytes = bytes.AddRange(_s3.Objects[tail]);
            }

            return Normalize(bytes);
        }

        // One append, as the frontend's writer does it, one S3 call or grain call per step.
        private IEnumerator<bool> Writer(long from, long to, int source, bool rogueAfterTakeover)
        {
            AppendGrant grant;
            var parts = to - from >= 5 * Mib ? 2 : 0;
            try
            {
                (var next, grant, var durable) = MediaItemLifecycle.BeginAppend(_memory, Id, new BeginAppend(from, null, Parts: parts), long.MaxValue, NewLease(), Now);
                Keep(next, durable);
            }
            catch (MediaException)
            {
                yield break;
            }

            var mine = grant.Lease;
            yield return true;

            // Superseded for good (another lease is durable: this one can never be current again), a rogue writer goes on
            // with other bytes, as a writer holding an older copy would. Nothing it writes may ever count.
            int Source()
            {
                if (rogueAfterTakeover && _durable.Lease != mine && _memory.Lease != mine)
                {
                    Saw("rogue bytes written");
                    return 1000 + (int)(mine % 1000);
                }

                return source;
            }
            var buffer = ImmutableList<Seg>.Empty;
            var consumesTail = false;
            if (grant.TailSize > 0)
            {
                if (!_s3.Objects.TryGetValue(grant.TailKey!, out var tail))
                {
                    yield break;
                }

                buffer = tail;
                consumesTail = true;
                yield return true;
            }

            var position = from;
            var bufferStart = from - grant.TailSize;
            var nextNumber = grant.PartNumber;
            var lastNumber = grant.PartNumber == 0 ? -1 : grant.PartNumber + grant.PartCount - 1;
            string? uploadId = grant.MultipartOpen ? _memory.MultipartUploadId : null;
            while (true)
            {
                var take = Math.Min(to - position, PartSize - Length(buffer));
                buffer = buffer.Add(new Seg(Source(), position, take));
                position += take;
                var final = position == _length;
                var full = Length(buffer) == PartSize;
                if (!final && !full && Length(buffer) < 5 * Mib)
                {
                    // What is left under the part minimum becomes a tail object under this writer's own key.
                    if (position == from && !consumesTail)
                    {
                        yield break;
                    }

                    var key = MediaKeys.Tail(Id, mine);
                    _s3.Objects[key] = buffer;
                    yield return true;
                    if (!Call(() => Persist(MediaItemLifecycle.RecordTail(_memory, new RecordTail(mine, key, Length(buffer)), long.MaxValue, Now)), refused: key))
                    {
                        yield break;
                    }

                    Told(_memory.Offset, complete: false);
                    yield break;
                }

                if (final && uploadId is null && !grant.MultipartOpen)
                {
                    // The whole content in one object, under this lease's own key; the grain checks it in S3.
                    _s3.Objects[grant.PutKey] = buffer;
                    yield return true;
                    var put = new RecordSinglePut(mine, grant.PutKey, Length(buffer), FakeS3.ETag(buffer), null);
                    if (Call(() =>
                    {
                        MediaItemLifecycle.CheckSinglePut(_memory, Id, put, Now);
                        Persist(MediaItemLifecycle.MarkSinglePutStored(_memory, Id, put, Length(_s3.Objects[put.Key]), FakeS3.ETag(_s3.Objects[put.Key]), Now));
                    }, refused: grant.PutKey))
                    {
                        Saw("stored by one object");
                        Told(_length, complete: true);
                    }

                    yield break;
                }

                if (uploadId is null)
                {
                    if (!Call(() =>
                    {
                        MediaItemLifecycle.CheckCanOpenMultipart(_memory, mine, Now);
                        Persist(MediaItemLifecycle.OpenMultipart(_memory, mine, _s3.Start(), Now));
                    }))
                    {
                        yield break;
                    }

                    uploadId = _memory.MultipartUploadId;
                    yield return true;
                }

                if (nextNumber == 0 || nextNumber > lastNumber)
                {
                    var reserved = 0;
                    if (!Call(() =>
                    {
                        (var next, reserved, var durable) = MediaItemLifecycle.ReserveParts(_memory, mine, 2, Now);
                        Keep(next, durable);
                    }))
                    {
                        yield break;
                    }

                    (nextNumber, lastNumber) = (reserved, reserved + 1);
                    yield return true;
                }

                var number = nextNumber++;
                var bytes = buffer;
                _s3.Parts[(uploadId!, number)] = bytes;
                yield return true;
                var request = new RecordPart(mine, new UploadedPart(number, Length(bytes), FakeS3.ETag(bytes)), consumesTail, final && position == to);
                if (!Call(() => Persist(MediaItemLifecycle.RecordPart(_memory, request, long.MaxValue, Now))))
                {
                    yield break;
                }

                buffer = [];
                bufferStart += Length(bytes);
                consumesTail = false;
                if (_memory.Status == MediaStatus.Completing)
                {
                    // The grain assembles in the same call; another request may have finished it meanwhile.
                    yield return true;
                    if (_memory.Status == MediaStatus.Stored || (_memory.Status == MediaStatus.Completing && TryComplete()))
                    {
                        Told(_length, complete: true);
                    }

                    yield break;
                }

                Told(_memory.Offset, complete: false);
                if (position == to)
                {
                    yield break;
                }

                yield return true;
            }
        }

        // The grain's assembly: S3 assembles the recorded parts; its answer may be lost (then a later attempt meets
        // NoSuchUpload and settles by the object); the item is stored only once the object is verified.
        private bool TryComplete()
        {
            var plan = MediaItemLifecycle.PlanCompletion(_memory);
            _lostAnswer = !_s3.Complete(plan.StorageKey, plan.UploadId, plan.Parts);
            if (_random.Next(4) == 0)
            {
                // The activation dies before it hears the answer.
                _memory = MediaItemLifecycle.Reactivated(_durable);
                Saw("assembly answer lost");
                return false;
            }

            if (_lostAnswer)
            {
                Saw("settled after a lost answer");
            }

            var stored = _s3.Objects.GetValueOrDefault(plan.StorageKey);
            var etag = stored is null ? null : _s3.ObjectETags[plan.StorageKey];
            Check(MediaItemLifecycle.CheckAssembled(_memory, stored is null ? null : Length(stored), etag) == CompletionCheck.Assembled, "The assembled object is not the recorded parts.");
            Persist(MediaItemLifecycle.MarkAssembled(_memory, Length(stored!), etag, Now));
            Saw("stored by assembly");
            return true;
        }

        // A grain call: the grain refuses by throwing; a refused writer's object is deleted by the grain.
        private bool Call(Action call, string? refused = null)
        {
            try
            {
                call();
                return true;
            }
            catch (MediaException ex)
            {
                if (ex.Code == MediaErrorCode.StaleWriter)
                {
                    Saw("stale report refused");
                }

                if (refused is not null && refused != _memory.TailKey && refused != _memory.StorageKey)
                {
                    _s3.Objects.Remove(refused);
                }

                return false;
            }
        }

        private void Persist(MediaItemState next) => _durable = _memory = next;

        private void Keep(MediaItemState next, bool durable)
        {
            if (durable)
            {
                Persist(next);
            }
            else
            {
                _memory = next;
            }
        }

        private long NewLease() => _random.NextInt64(1, long.MaxValue);

        private static DateTimeOffset Now => new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

        private static void Check(bool condition, string message)
        {
            if (!condition)
            {
                throw new InvalidOperationException(message);
            }
        }
    }

    /// <summary>A run of bytes from one source: the file (0) or a stale writer's other bytes.</summary>
    private sealed record Seg(int Source, long From, long Length);

    private static long Length(ImmutableList<Seg> content) => content.Sum(s => s.Length);

    // Adjacent runs of one source merge, so that equal bytes compare equal however they were cut.
    private static Content Normalize(IEnumerable<Seg> segments)
    {
        var merged = new List<Seg>();
        foreach (var s in segments.Where(s => s.Length > 0))
        {
            if (merged.Count > 0 && merged[^1] is var last && last.Source == s.Source && last.From + last.Length == s.From)
            {
                merged[^1] = last with { Length = last.Length + s.Length };
            }
            else
            {
                merged.Add(s);
            }
        }

        return new Content(merged);
    }

    /// <summary>Normalized content, with a prefix of a given length.</summary>
    private sealed class Content(List<Seg> segments) : List<Seg>(segments)
    {
        public IEnumerable<Seg> Take(long length)
        {
            var taken = new List<Seg>();
            foreach (var s in this)
            {
                if (length <= 0)
                {
                    break;
                }

                taken.Add(s with { Length = Math.Min(s.Length, length) });
                length -= s.Length;
            }

            return length > 0 ? [new Seg(-1, 0, 0)] : taken;
        }
    }

    /// <summary>S3 as the protocol meets it: parts by (upload, number), replaced when sent again; objects by key;
    /// CompleteMultipartUpload assembles the listed parts once, and answers NoSuchUpload when repeated.</summary>
    private sealed class FakeS3
    {
        private int _uploads;

        public Dictionary<(string, int), ImmutableList<Seg>> Parts { get; } = [];

        public Dictionary<string, ImmutableList<Seg>> Objects { get; } = [];

        public Dictionary<string, string> ObjectETags { get; } = [];

        private HashSet<string> Open { get; } = [];

        public string Start()
        {
            var id = $"upload-{++_uploads}";
            Open.Add(id);
            return id;
        }

        /// <summary>False when the upload was assembled before (NoSuchUpload): the object is what that assembly made.</summary>
        public bool Complete(string key, string uploadId, ImmutableArray<UploadedPart> parts)
        {
            if (!Open.Remove(uploadId))
            {
                return false;
            }

            var content = ImmutableList<Seg>.Empty;
            foreach (var part in parts)
            {
                var stored = Parts[(uploadId, part.PartNumber)];
                if (ETag(stored) != part.ETag)
                {
                    throw new InvalidOperationException("InvalidPart: the part's ETag does not match.");
                }

                content = content.AddRange(stored);
            }

            Objects[key] = content;
            ObjectETags[key] = $"\"{MultipartETag.Compute([.. parts.Select(p => p.ETag)])}\"";
            return true;
        }

        public static string ETag(IEnumerable<Seg> content) =>
            $"\"{Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(string.Join(';', Normalize(content)))))}\"";
    }
}
