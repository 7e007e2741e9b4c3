using System.ComponentModel.DataAnnotations;

namespace MediaService.DataPlane;

/// <summary>Where media bytes live and how calls to the object store are guarded. Section <c>S3</c>.</summary>
public sealed class S3Options : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string Section = "S3";

    /// <summary>S3's hard limit on parts in one multipart upload.</summary>
    public const int MaxPartCount = 10_000;

    /// <summary>S3's minimum size of every part but the last.</summary>
    public const long MinPartSizeBytes = 5L * 1024 * 1024;

    /// <summary>Endpoint of an S3-compatible server; empty means AWS itself (then set <see cref="Region"/>).
    /// Default: the local s3rver that <c>./run.sh</c> starts.</summary>
    public string? ServiceUrl { get; set; } = "http://127.0.0.1:54568";

    /// <summary>Signing region. Default <c>us-east-1</c>.</summary>
    [Required]
    public string Region { get; set; } = "us-east-1";

    /// <summary>The bucket that holds every object of the service. Default <c>media</c>.</summary>
    [Required]
    public string Bucket { get; set; } = "media";

    /// <summary>Access key; empty means the SDK's default credential chain. Default: s3rver's <c>S3RVER</c>.</summary>
    public string? AccessKey { get; set; } = "S3RVER";

    /// <summary>Secret key; empty means the SDK's default credential chain. Default: s3rver's <c>S3RVER</c>.</summary>
    public string? SecretKey { get; set; } = "S3RVER";

    /// <summary>Path-style addressing (<c>http://host/bucket/key</c>), needed by s3rver and MinIO. Default true.</summary>
    public bool ForcePathStyle { get; set; } = true;

    /// <summary>Size of each multipart part; the memory one upload holds at the edge is about
    /// <see cref="PartsInFlight"/> + 1 parts. Default 8 MiB; at least 5 MiB (S3's minimum).</summary>
    [Range(MinPartSizeBytes, 5L * 1024 * 1024 * 1024)]
    public long PartSizeBytes { get; set; } = 8L * 1024 * 1024;

    /// <summary>Parts of one upload sent to S3 at once while the next is read from the client. Memory per upload is
    /// about (this + 1) parts. Default 4.</summary>
    [Range(1, 16)]
    public int PartsInFlight { get; set; } = 4;

    /// <summary>
    /// Parts go to S3 as presigned UploadPart requests with an unsigned payload: a part is streamed to S3 while its bytes
    /// arrive from the client, instead of being read in full, hashed for the request's signature and only then sent.
    /// Over HTTPS, TLS protects the bytes in transit; the tus checksum extension covers client to service. Set false
    /// for SDK-signed part requests (a signed payload hash, for example with a plain-HTTP endpoint on an untrusted
    /// network). Default true.
    /// </summary>
    public bool PresignedParts { get; set; } = true;

    /// <summary>How long a presigned part request stays valid; S3 checks it when the request starts, so it only needs
    /// to cover the wait for a connection. Default 15 min.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "7.00:00:00")]
    public TimeSpan PresignedUrlLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Bytes the S3 client copies from a body to the connection per write. Larger writes cost the S3 server
    /// less per byte (s3rver handles each write it receives as a chunk). Default 1 MiB.</summary>
    [Range(4096, 16 * 1024 * 1024)]
    public int WriteBufferBytes { get; set; } = 1024 * 1024;

    /// <summary>Time allowed to open a connection to S3; a store that refuses or does not answer connections fails the
    /// attempt after this long. Default 2 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Time allowed for one attempt of one S3 call until S3 answers (a head, a tail, a whole small object, the first byte
    /// of a download). For a part streamed while it arrives, each write to S3 and the wait for its answer must finish
    /// within this time, while the wait for the client does not count; for a download, each read of the body must (an
    /// idle timeout). A hung S3 is noticed after this long. Default 4 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>Time allowed for one S3 call with all its retries (calls on a request's path): past it, the request is
    /// answered 503 with Retry-After instead of waiting on. Calls that take long by nature (assembling an object,
    /// processing's downloads and renditions) use <see cref="CompleteTimeout"/> instead. Default 6 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(6);

    /// <summary>Time allowed for assembling a multipart upload (some servers copy every byte), and for processing's
    /// downloads and rendition uploads; an assembly that runs out is settled or repeated by the item's grain. Default 2 min.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "06:00:00")]
    public TimeSpan CompleteTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How much longer than <see cref="AttemptTimeout"/> an assembly may take per GiB of the object (servers that
    /// copy the parts need time in proportion; AWS answers at once and keeps the connection busy). Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan CompleteTimePerGiB { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries of an idempotent S3 call after a transient failure (exponential backoff with jitter). Default 3.</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 3;

    /// <summary>
    /// How many more times the size of a just-written object is read when it does not match yet, before the upload is
    /// refused as inconsistent. S3 itself is read-after-write consistent; s3rver answers a PUT before its file is fully
    /// on disk, so a read right after it can see fewer bytes. Default 5.
    /// </summary>
    [Range(0, 50)]
    public int ReadAfterWriteRetries { get; set; } = 5;

    /// <summary>Pause before each of those reads. Default 100 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan ReadAfterWriteDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>First retry delay; later ones grow exponentially, with jitter. Default 200 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The circuit opens when at least this share of calls in the sampling window failed. Default 0.5.</summary>
    [Range(0.01, 1.0)]
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>Calls needed in the sampling window before the circuit may open. Default 8.</summary>
    [Range(2, 10_000)]
    public int BreakerMinimumThroughput { get; set; } = 8;

    /// <summary>Window over which failures are counted. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open circuit refuses calls before trying again; also the Retry-After clients get. Default 15 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The largest object an upload of unknown length can reach with this part size.</summary>
    public long MaxObjectBytes => PartSizeBytes * MaxPartCount;

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrEmpty(ServiceUrl) && !Uri.TryCreate(ServiceUrl, UriKind.Absolute, out _))
        {
            yield return new ValidationResult($"S3:ServiceUrl '{ServiceUrl}' is not an absolute URL.", [nameof(ServiceUrl)]);
        }

        if (string.IsNullOrEmpty(AccessKey) != string.IsNullOrEmpty(SecretKey))
        {
            yield return new ValidationResult("S3:AccessKey and S3:SecretKey must be given together.", [nameof(AccessKey), nameof(SecretKey)]);
        }
    }
}
