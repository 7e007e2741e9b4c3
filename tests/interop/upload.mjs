// Uploads a file to a tus endpoint with the real tus-js-client and prints {"url": ..., "seconds": ...} as JSON:
// seconds from the upload's start to its success, with the file already read into memory (node's start-up left out).
// Usage: node upload.mjs <endpoint> <file> '<options json>'
// Options: chunkSize, parallelUploads, deferLength (Upload-Defer-Length at creation; the client sends the length
// with its last PATCH. The input is a Buffer: tus-js-client 4.3.1's Node stream source sends a wrong Content-Length
// for the last, short chunk of a stream and never sends the length),
// metadata (object), protocol, abortAt (bytes: abort the first client there, then resume the upload with a
// second client created from the stored upload URL, as an app restarted by its user would).
// The API key, if any, comes from the MEDIA_API_KEY environment variable (sent as Authorization: Bearer).
import fs from 'node:fs';
import { Upload } from 'tus-js-client';

const [endpoint, file, json] = process.argv.slice(2);
const options = JSON.parse(json || '{}');

function start(input, extra) {
  return new Promise((resolve, reject) => {
    const upload = new Upload(input, {
      endpoint,
      chunkSize: options.chunkSize ?? Infinity,
      parallelUploads: options.parallelUploads ?? 1,
      uploadLengthDeferred: options.deferLength ?? false,
      metadata: options.metadata ?? { filename: 'interop.bin', filetype: 'application/octet-stream' },
      retryDelays: [0, 200, 500, 1000, 2000],
      removeFingerprintOnSuccess: true,
      ...(process.env.MEDIA_API_KEY ? { headers: { Authorization: `Bearer ${process.env.MEDIA_API_KEY}` } } : {}),
      ...(options.protocol ? { protocol: options.protocol } : {}),
      ...extra,
      onError: reject,
      onSuccess: () => resolve({ url: upload.url, aborted: false }),
      onProgress: (sent) => {
        if (extra.abortAt !== undefined && sent >= extra.abortAt && upload.url) {
          upload.abort(false).then(() => resolve({ url: upload.url, aborted: true }), reject);
        }
      },
    });
    upload.start();
  });
}

function input() {
  return fs.readFileSync(file);
}

try {
  const data = input();
  const started = process.hrtime.bigint();
  let result = await start(data, options.abortAt !== undefined ? { abortAt: options.abortAt } : {});
  if (result.aborted) {
    // A new client instance resumes from the URL the first one stored.
    result = await start(data, { uploadUrl: result.url });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({ url: result.url, seconds }) + '\n');
} catch (error) {
  process.stderr.write(`upload failed: ${error?.stack ?? error}\n`);
  process.exit(1);
}
