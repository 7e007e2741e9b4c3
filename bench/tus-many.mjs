// Uploads COUNT copies of a file with tus-js-client, CONCURRENCY at a time; prints the seconds taken.
// Usage: node bench/tus-many.mjs <endpoint> <file> <count> <concurrency>   (API key from MEDIA_API_KEY)
import fs from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(new URL('../tests/interop/package.json', import.meta.url));
const { Upload } = require('tus-js-client');

const [endpoint, file, count, concurrency] = process.argv.slice(2);
const data = fs.readFileSync(file);
const upload = () => new Promise((resolve, reject) => {
  new Upload(data, { endpoint, retryDelays: [0, 500, 1000], onError: reject, onSuccess: resolve,
    metadata: { filename: 'many.bin' },
    ...(process.env.MEDIA_API_KEY ? { headers: { Authorization: `Bearer ${process.env.MEDIA_API_KEY}` } } : {}) }).start();
});
const started = process.hrtime.bigint();
let next = 0;
await Promise.all(Array.from({ length: Number(concurrency) }, async () => {
  while (next < Number(count)) {
    next++;
    await upload();
  }
}));
process.stdout.write(`${Number(process.hrtime.bigint() - started) / 1e9}\n`);
