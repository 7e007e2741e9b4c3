using System.Diagnostics;
using System.Globalization;
using Amazon.S3.Model;
using MediaService.DataPlane;

namespace MediaService.Bench;

/// <summary>A multipart upload straight to S3 with the AWS SDK, configured as the service configures its client
/// (signed requests as with S3:PresignedParts=false, no aws-chunked bodies, 1 MiB writes): the same client library,
/// without the service around it.</summary>
public static class DirectUpload
{
    /// <summary>Uploads the file in parts of <paramref name="partSize"/> bytes, <paramref name="inFlight"/> at a time;
    /// prints the seconds taken.</summary>
    public static async Task RunAsync(string serviceUrl, string bucket, string key, string path, int partSize, int inFlight)
    {
        using var s3 = DataPlaneServiceCollectionExtensions.CreateClient(new S3Options { ServiceUrl = serviceUrl, Bucket = bucket });
        var data = await File.ReadAllBytesAsync(path);
        var watch = Stopwatch.StartNew();
        var upload = await s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = bucket, Key = key });
        var parts = new Amazon.S3.Model.PartETag[(data.Length + partSize - 1) / partSize];
        await Parallel.ForEachAsync(Enumerable.Range(0, parts.Length), new ParallelOptions { MaxDegreeOfParallelism = inFlight }, async (i, ct) =>
        {
            var length = Math.Min(partSize, data.Length - (i * partSize));
            using var body = new MemoryStream(data, i * partSize, length, writable: false);
            var response = await s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = bucket,
                Key = key,
                UploadId = upload.UploadId,
                PartNumber = i + 1,
                PartSize = length,
                InputStream = body,
                UseChunkEncoding = false,
            }, ct);
            parts[i] = new Amazon.S3.Model.PartETag(i + 1, response.ETag);
        });
        await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = upload.UploadId, PartETags = [.. parts] });
        Console.WriteLine(watch.Elapsed.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture));
    }
}
