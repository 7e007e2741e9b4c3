using Microsoft.AspNetCore.Http.HttpResults;
using System.Collections.Immutable;
using MediaService.ApiFrontend.Media;
using MediaService.ApiFrontend.Uploads;
using MediaService.DataPlane;
using MediaService.Grains.Interfaces;

namespace MediaService.ApiFrontend.Tus;

/// <summary>
/// tus concatenation: a final upload is assembled from finished partial uploads by streaming their objects,
/// in order, through the same writer as any append (S3 servers such as s3rver lack UploadPartCopy, and
/// partials under 5 MiB could not be parts anyway). A final declared before its partials finished
/// (concatenation-unfinished) is assembled by the first request that finds them all finished.
/// </summary>
public sealed class TusConcatenation(
    IClusterClient cluster, DataPlane.Objects.IObjectReader store, UploadWriter writer, Limits.Quotas quotas, Microsoft.Extensions.Options.IOptions<UploadOptions> uploads)
{
    private readonly TimeSpan _completionWait = uploads.Value.CompletionWait;

    /// <summary>Parses <c>final;URL URL ...</c> into the partial uploads' ids; false when malformed or not ours.</summary>
    public static bool TryParseFinal(string header, out ImmutableArray<long> ids)
    {
        ids = [];
        const string prefix = "final;";
        if (!header.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var builder = ImmutableArray.CreateBuilder<long>();
        foreach (var url in header[prefix.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var path = Uri.TryCreate(url, UriKind.Absolute, out var absolute) ? absolute.AbsolutePath : url;
            var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
            if (segments.Length != 2 || segments[0] != "files" || !long.TryParse(segments[1], out var id) || !MediaIds.IsValid(id))
            {
                return false;
            }

            builder.Add(id);
        }

        ids = builder.ToImmutable();
        return ids.Length is > 0 and <= 1000;
    }

    /// <summary>Why a final's list of partials is refused for naming one more than once, or null when it does not.</summary>
    public static string? Repeated(ImmutableArray<long> ids) =>
        ids.GroupBy(id => id).FirstOrDefault(group => group.Count() > 1) is { } repeated
            ? $"/files/{repeated.Key} is listed {repeated.Count()} times; a final upload lists each partial upload once."
            : null;

    /// <summary>The answer when assembling would pass the owner's storage room.</summary>
    public ProblemHttpResult QuotaExceeded(long room) => quotas.Exceeded(room);

    /// <summary>The <c>Upload-Concat</c> value of an item, or null for an ordinary upload.</summary>
    public static string? HeaderOf(MediaItemView view) => view.Concat switch
    {
        ConcatKind.Partial => "partial",
        ConcatKind.Final => "final;" + string.Join(' ', view.ConcatParts.Select(id => $"/files/{id}")),
        _ => null,
    };

    /// <summary>The partial uploads' current views, or an error text when one is missing, not partial, or gone.</summary>
    public async Task<(IReadOnlyList<MediaItemView> Parts, string? Error)> ReadPartialsAsync(ImmutableArray<long> ids)
    {
        var views = await Task.WhenAll(ids.Select(id => cluster.GetGrain<IMediaMetadata>(id).GetMetadataAsync()));
        for (var i = 0; i < views.Length; i++)
        {
            if (views[i] is not { Concat: ConcatKind.Partial, Status: MediaStatus.Receiving or MediaStatus.Completing or MediaStatus.Stored })
            {
                return ([], $"/files/{ids[i]} is not an unfinished or finished partial upload.");
            }
        }

        return (views!, null);
    }

    /// <summary>Assembles the final upload when all its partials are finished; returns the item when it is stored.</summary>
    public async Task<MediaItemView?> TryAssembleAsync(long id, IMediaItemGrain grain, MediaItemView final, HttpContext context, CancellationToken cancellationToken)
    {
        if (final.Status == MediaStatus.Completing)
        {
            final = await TusEndpoints.FinishCompletionAsync(grain, _completionWait) ?? final;
        }

        if (final.Status != MediaStatus.Receiving)
        {
            return final.Status == MediaStatus.Stored ? final : null;
        }

        var contents = await Task.WhenAll(final.ConcatParts.Select(part => cluster.GetGrain<IMediaServing>(part).GetStoredContentAsync()));
        if (contents.Any(c => c is null))
        {
            return null;
        }

        // An assembly cut off midway goes on from the final upload's durable offset. The copy must fit the owner's
        // room (checked before the grant, which records the length: a refused assembly must not leave a final that a
        // later HEAD would copy unchecked).
        var total = contents.Sum(c => c!.Size);
        var room = await quotas.RoomAsync(Access.OwnerPropagation.Owner(context.User), cancellationToken, id, final.Offset);
        if (room < total - final.Offset)
        {
            throw new Limits.QuotaExceededException(room);
        }

        var grant = await grain.BeginAppendAsync(new BeginAppend(final.Offset, total, Assembly: true, Parts: writer.PartsToReserve(total - final.Offset)));
        await using var partials = new PartialsStream(store, contents!, grant.Offset);

        // The copy is the owner's upload like any other: under their bandwidth limit.
        Stream body = Limits.ThrottledBody.For(context, partials);

        var outcome = await writer.AppendAsync(id, grain, grant, body, grant.Length - grant.Offset, endOfBodyEndsContent: true, cancellationToken);
        return outcome.Stored;
    }

    /// <summary>The partial uploads' objects read one after another, as one stream.</summary>
    private sealed class PartialsStream(DataPlane.Objects.IObjectReader store, IReadOnlyList<StoredContent> parts, long skip) : Stream
    {
        private int _index = -1;
        private ObjectRead? _current;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (true)
            {
                if (_current is not null)
                {
                    var read = await _current.Body.ReadAsync(buffer, cancellationToken);
                    if (read > 0 || buffer.Length == 0)
                    {
                        return read;
                    }

                    await _current.DisposeAsync();
                    _current = null;
                }

                if (++_index >= parts.Count)
                {
                    return 0;
                }

                var part = parts[_index];
                if (skip >= part.Size)
                {
                    skip -= part.Size;
                    continue;
                }

                _current = await store.OpenReadAsync(part.StorageKey, skip, part.Size - 1, cancellationToken);
                skip = 0;
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Read asynchronously.");

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask DisposeAsync()
        {
            if (_current is not null)
            {
                await _current.DisposeAsync();
            }

            await base.DisposeAsync();
        }
    }
}
