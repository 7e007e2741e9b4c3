// A browser batch, traced: Debian's Chromium (playwright-core, pinned in web/package-lock.json) opens the upload
// web app at /app/, enters the key and drops COUNT files of SIZE_KIB at once, then waits until Uppy has every one
// uploaded (or failed) while the page polls their processing status and shows thumbnails, as a person's page does.
// Every request the page sends to the API is traced by rate-limit class and time; prints one JSON line in the form of
// bench/batch-trace.mjs for bench/limits.mjs.
// Usage: node bench/browser-batch.mjs <base-url> <count> <size-kib>   (API key from MEDIA_API_KEY)
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
const require = createRequire(new URL('../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const [baseUrl, count, sizeKib] = process.argv.slice(2);
const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'browser-batch-'));
const files = Array.from({ length: Number(count) }, (_, i) => {
  const file = path.join(folder, `photo-${String(i).padStart(4, '0')}.bin`);
  fs.writeFileSync(file, crypto.randomBytes(Number(sizeKib) * 1024));
  return file;
});

// The service's classes (ApiFrontend/Limits/RateLimitMiddleware.cs, Classify); null for what no key limit counts.
const classOf = (method, url) => {
  const p = new URL(url).pathname;
  if (p.startsWith('/files')) return ({ POST: 'create', DELETE: 'create', PATCH: 'append', OPTIONS: null })[method] ?? 'read';
  if (!p.startsWith('/media')) return null;
  if (method === 'GET' && p.replace(/\/$/, '') === '/media') return 'search';
  return method === 'GET' || method === 'HEAD' ? 'read' : 'create';
};

const trace = [];
const statuses = {};
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true });
let started;
let result;
try {
  const page = await (await browser.newContext({ baseURL: baseUrl })).newPage();
  page.on('request', (request) => {
    const name = started && classOf(request.method(), request.url());
    if (name) trace.push([Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 1e4, name]);
  });
  page.on('response', (response) => {
    if (started && classOf(response.request().method(), response.url())) statuses[response.status()] = (statuses[response.status()] ?? 0) + 1;
  });
  await page.goto('/app/');
  await page.getByLabel('API key', { exact: true }).fill(process.env.MEDIA_API_KEY);
  await page.getByRole('button', { name: 'Use this key' }).click();
  const input = page.locator('#dashboard input[type=file]:not([webkitdirectory])').first();
  await input.waitFor({ state: 'attached' });
  started = process.hrtime.bigint();
  await input.setInputFiles(files);
  await page.waitForFunction((n) => {
    const all = window.mediaUppy?.getFiles() ?? [];
    return all.length === n && all.every((f) => f.progress.uploadComplete || f.error);
  }, Number(count), { timeout: 10 * 60 * 1000, polling: 500 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const outcome = await page.evaluate(() => window.mediaUppy.getFiles().map((f) => ({ ok: Boolean(f.progress.uploadComplete), error: f.error ?? null })));
  // The page keeps polling processing status for a while after the uploads: that traffic counts too.
  await page.waitForTimeout(5000);
  const failed = outcome.filter((f) => !f.ok);
  result = { label: 'browser', count: Number(count), sizeKib: Number(sizeKib), concurrency: 'app', seconds,
    ok: outcome.length - failed.length, failed: failed.length, firstError: failed[0]?.error ?? undefined, statuses, trace };
} finally {
  await browser.close();
  fs.rmSync(folder, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result) + '\n');
