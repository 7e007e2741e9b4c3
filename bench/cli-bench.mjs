// The baseline of bench/cli-bench.sh: tus-js-client 4.3.1 (tests/interop/node_modules) uploading every file below a
// folder (sorted), CONCURRENCY at a time, and printing {"file","url"} per file (or {"file","error"}).
// Usage: node bench/cli-bench.mjs <endpoint> <folder> <concurrency> <chunkSize>; the key in MEDIA_KEY.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../tests/interop/package.json', import.meta.url));
const { Upload } = require('tus-js-client');
const [endpoint, folder, concurrency, chunkSize] = process.argv.slice(2);

const files = fs.readdirSync(folder, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => path.join(e.parentPath ?? e.path, e.name))
  .sort();

function upload(file) {
  return new Promise((resolve) => {
    // A Buffer, read when its upload starts (tus-js-client's Node stream source mis-sizes a stream's last chunk).
    const u = new Upload(fs.readFileSync(file), {
      endpoint,
      chunkSize: Number(chunkSize),
      metadata: { filename: path.basename(file), filetype: 'application/octet-stream' },
      headers: { Authorization: `Bearer ${process.env.MEDIA_KEY}` },
      retryDelays: [0, 500, 1000, 2000],
      storeFingerprintForResuming: false,
      onError: (error) => resolve({ file, error: String(error) }),
      onSuccess: () => resolve({ file, url: u.url }),
    });
    u.start();
  });
}

let next = 0;
let failed = 0;
async function worker() {
  while (next < files.length) {
    const result = await upload(files[next++]);
    if (result.error) failed++;
    process.stdout.write(JSON.stringify(result) + '\n');
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
process.exit(failed ? 1 : 0);
