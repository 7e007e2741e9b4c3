// A script batch as tus-js-client sends it, traced: COUNT files of SIZE_KIB, CONCURRENCY at a time, with
// tus-js-client's default options (no retry of a 429, as in the field). Prints one JSON line: how many uploads
// succeeded and failed, the answers' status counts, the wall time, and every request's rate-limit class and time
// (seconds from the start), for bench/limits.mjs to size token buckets from.
// Usage: node bench/batch-trace.mjs <endpoint> <count> <size-kib> <concurrency> [chunk-kib]   (API key from MEDIA_API_KEY)
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
const require = createRequire(new URL('../tests/interop/package.json', import.meta.url));
const { Upload } = require('tus-js-client');

const [endpoint, count, sizeKib, concurrency, chunkKib] = process.argv.slice(2);
const trace = [];
const statuses = {};
const started = process.hrtime.bigint();
const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
// The service's classes (ApiFrontend/Limits/RateLimitMiddleware.cs, Classify) for the requests tus sends.
const classOf = (method) => ({ POST: 'create', DELETE: 'create', PATCH: 'append' })[method] ?? 'read';

const upload = (i) => new Promise((resolve) => {
  const data = crypto.randomBytes(Number(sizeKib) * 1024);
  new Upload(data, {
    endpoint,
    metadata: { filename: `photo-${i}.jpg`, filetype: 'image/jpeg' },
    headers: { Authorization: `Bearer ${process.env.MEDIA_API_KEY}` },
    ...(chunkKib ? { chunkSize: Number(chunkKib) * 1024 } : {}),
    onBeforeRequest: (req) => { trace.push([Math.round(seconds() * 1e4) / 1e4, classOf(req.getMethod())]); },
    onAfterResponse: (_req, res) => { statuses[res.getStatus()] = (statuses[res.getStatus()] ?? 0) + 1; },
    onError: (error) => resolve({ ok: false, error: String(error.message ?? error).split('\n')[0] }),
    onSuccess: () => resolve({ ok: true }),
  }).start();
});

let next = 0;
const results = [];
await Promise.all(Array.from({ length: Number(concurrency) }, async () => {
  while (next < Number(count)) {
    results.push(await upload(next++));
  }
}));
const failed = results.filter((r) => !r.ok);
process.stdout.write(JSON.stringify({
  count: Number(count), sizeKib: Number(sizeKib), concurrency: Number(concurrency), seconds: seconds(),
  ok: results.length - failed.length, failed: failed.length, firstError: failed[0]?.error, statuses, trace,
}) + '\n');
