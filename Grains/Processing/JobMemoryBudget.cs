using System.Buffers;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Memory;

namespace MediaService.Grains.Processing;

/// <summary>
/// The memory of one image job: an ImageSharp allocator that counts every buffer the job holds (decoder buffers,
/// pixel frames, resize and encode buffers) and refuses the allocation that would take the total past the budget,
/// with <see cref="InvalidMemoryOperationException"/>. ImageSharp's own limit bounds one allocation; this bounds the
/// job, so that a silo's image memory is at most its slots × the budget. Buffers come from the silo's shared pool in
/// blocks of <see cref="BlockBytes"/> (large images are held as several blocks), and go back to it when disposed.
/// </summary>
public sealed class JobMemoryBudget : MemoryAllocator
{
    /// <summary>The largest contiguous buffer handed out; larger images are held as groups of such blocks.</summary>
    public const int BlockBytes = 4 * 1024 * 1024;

    private readonly MemoryAllocator _pool;
    private long _held;
    private long _peak;

    /// <summary>A budget of <paramref name="limitBytes"/> over buffers taken from <paramref name="pool"/>.</summary>
    public JobMemoryBudget(MemoryAllocator pool, long limitBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limitBytes, 1);
        _pool = pool;
        LimitBytes = limitBytes;
    }

    /// <summary>The budget, in bytes.</summary>
    public long LimitBytes { get; }

    /// <summary>Bytes held now.</summary>
    public long HeldBytes => Interlocked.Read(ref _held);

    /// <summary>The most bytes held at once so far.</summary>
    public long PeakBytes => Interlocked.Read(ref _peak);

    /// <summary>An ImageSharp configuration whose allocations count against this budget (decoders and formats from
    /// <paramref name="template"/>).</summary>
    public Configuration Configure(Configuration template)
    {
        var configuration = template.Clone();
        configuration.MemoryAllocator = this;
        return configuration;
    }

    /// <inheritdoc />
    protected override int GetBufferCapacityInBytes() => BlockBytes;

    /// <inheritdoc />
    public override IMemoryOwner<T> Allocate<T>(int length, AllocationOptions options = AllocationOptions.None)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var bytes = (long)length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        var held = Interlocked.Add(ref _held, bytes);
        if (held > LimitBytes)
        {
            Interlocked.Add(ref _held, -bytes);
            throw new InvalidMemoryOperationException(
                $"The job would hold {held / (1024 * 1024)} MiB; its budget is {LimitBytes / (1024 * 1024)} MiB.");
        }

        long peak;
        while (held > (peak = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, held, peak) != peak)
        {
        }

        try
        {
            return new Counted<T>(_pool.Allocate<T>(length, options), this, bytes);
        }
        catch
        {
            Interlocked.Add(ref _held, -bytes);
            throw;
        }
    }

    /// <inheritdoc />
    public override void ReleaseRetainedResources()
    {
    }

    private sealed class Counted<T>(IMemoryOwner<T> inner, JobMemoryBudget budget, long bytes) : IMemoryOwner<T>
    {
        private int _disposed;

        public Memory<T> Memory => inner.Memory;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                inner.Dispose();
                Interlocked.Add(ref budget._held, -bytes);
            }
        }
    }
}
