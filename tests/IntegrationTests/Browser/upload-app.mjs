// Drives Debian's Chromium (playwright-core, pinned in web/package-lock.json) through the upload web app at /app/, as a
// person would: enters a key, drops files, loses the network for a few seconds, reloads mid-upload, waits for
// thumbnails, edits a title, searches the gallery, subscribes a webhook receiver of its own and deletes it again.
// Every wait is bounded. Prints one JSON report on stdout (what was uploaded under which id, what the page showed,
// console errors); BrowserTests.cs checks it against the API.
// Usage: node upload-app.mjs CONFIG.json
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const require = createRequire(path.join(config.webFolder, 'package.json'));
const { chromium } = require('playwright-core');

const report = { uploads: {}, consoleErrors: [], networkErrors: [], screenshots: [], steps: [] };
const log = message => { process.stderr.write(`[browser] ${message}\n`); report.steps.push(message); };
const seconds = s => s * 1000;

const browser = await chromium.launch({ executablePath: config.chromium, headless: true });
let exitCode = 0;
let page = null;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: config.baseUrl });
  // Smaller tus chunks than the app's default, so that every large file takes several PATCH requests.
  await context.addInitScript(size => localStorage.setItem('media.chunkSize', String(size)), config.chunkSize);
  page = await context.newPage();
  page.setDefaultTimeout(seconds(30));
  // Network interruptions the test causes itself (offline, reload) are expected; anything else is an error of the app.
  let expectNetworkErrors = false;
  // A refusal the test asks for (a 400 to a bad form), which Chromium logs as a failed resource.
  let expectRefusal = false;
  page.on('console', message => {
    if (message.type() !== 'error') return;
    const text = `${message.text()} (${message.location()?.url ?? ''})`;
    if (expectRefusal && /the server responded with a status of 400/.test(message.text())) {
      report.expectedRefusals = [...(report.expectedRefusals ?? []), text];
    } else if (expectNetworkErrors && /ERR_INTERNET_DISCONNECTED|ERR_ABORTED|ERR_NETWORK_CHANGED|Failed to load resource/.test(message.text())) {
      report.networkErrors.push(text);
    } else {
      report.consoleErrors.push(text);
    }
  });
  page.on('pageerror', error => report.consoleErrors.push(`pageerror: ${error.message}`));
  page.on('requestfailed', request => {
    if (request.url().includes('/files/')) report.networkErrors.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`);
  });
  const shot = async name => {
    const file = path.join(config.artifacts, name);
    await page.screenshot({ path: file, fullPage: true });
    report.screenshots.push(file);
  };

  // The key.
  await page.goto('/app/');
  await page.getByLabel('API key', { exact: true }).fill(config.key);
  await page.getByRole('button', { name: 'Use this key' }).click();
  const input = page.locator('#dashboard input.uppy-Dashboard-input:not([webkitdirectory])').first();
  await input.waitFor({ state: 'attached' });
  log('key entered, Dashboard shown');
  // Files are given to the Dashboard's own file input, as its "browse files" would; once it lists files, through
  // its "Add more" panel.
  const addFiles = async files => {
    if (await input.count() === 0) await page.locator('#dashboard .uppy-DashboardContent-addMore').click();
    await input.setInputFiles(files);
  };

  // Files complete in Uppy's state, with the tus URL the service gave them.
  const uploaded = async (names, timeout) => {
    await page.waitForFunction(expected => {
      const files = window.mediaUppy?.getFiles() ?? [];
      return expected.every(name => files.some(f => f.name === name && f.progress.uploadComplete && f.response?.uploadURL));
    }, names, { timeout, polling: 250 });
    const urls = await page.evaluate(expected => Object.fromEntries(window.mediaUppy.getFiles()
      .filter(f => expected.includes(f.name)).map(f => [f.name, f.response.uploadURL])), names);
    for (const [name, url] of Object.entries(urls)) report.uploads[name] = new URL(url, config.baseUrl).pathname.split('/').pop();
  };
  const progressOf = name => page.evaluate(n => window.mediaUppy.getFiles().find(f => f.name === n)?.progress?.percentage ?? 0, name);
  const patches = () => { let count = 0; const on = r => { if (r.method() === 'PATCH' && r.url().includes('/files/')) count++; }; page.on('request', on); return { get count() { return count; }, stop: () => page.off('request', on) }; };

  // 1. A batch of images, several at once.
  const batch = config.batch.map(f => path.basename(f));
  await addFiles(config.batch);
  await uploaded(batch, seconds(120));
  log(`batch of ${batch.length} uploaded`);

  // 2. A large file in several chunks; a screenshot while it is under way.
  const large = path.basename(config.large);
  const largePatches = patches();
  await addFiles(config.large);
  await page.waitForFunction(n => (window.mediaUppy.getFiles().find(f => f.name === n)?.progress?.bytesUploaded ?? 0) > 0, large, { timeout: seconds(60), polling: 50 });
  await shot('upload-in-progress.png');
  await uploaded([large], seconds(180));
  largePatches.stop();
  report.largePatches = largePatches.count;
  log(`large file uploaded in ${largePatches.count} PATCH requests`);

  // 3. The network goes away for 3 s while a file uploads (after its second PATCH has started), then comes back.
  const offline = path.basename(config.offline);
  let wentOffline = null;
  const onPatch = request => {
    if (request.method() !== 'PATCH' || !request.url().includes('/files/') || wentOffline) return;
    if (++onPatch.count >= 2) {
      expectNetworkErrors = true;
      wentOffline = context.setOffline(true).then(() => new Promise(resolve => setTimeout(resolve, seconds(3))))
        .then(() => context.setOffline(false)).then(() => log('back online'));
    }
  };
  onPatch.count = 0;
  page.on('request', onPatch);
  const failedBefore = report.networkErrors.length;
  await addFiles(config.offline);
  await page.waitForFunction(() => !navigator.onLine, null, { timeout: seconds(60), polling: 20 }).catch(() => {});
  report.offlineProgressAtDrop = await progressOf(offline);
  await uploaded([offline], seconds(180));
  await wentOffline;
  page.off('request', onPatch);
  report.offlineFailures = report.networkErrors.length - failedBefore;
  expectNetworkErrors = false;
  log(`file uploaded through a network drop (${report.offlineFailures} requests failed while offline, at ${report.offlineProgressAtDrop?.toFixed?.(0)}%)`);

  // 4. Thumbnails of every image appear under "Uploaded in this session".
  await page.waitForFunction(count => document.querySelectorAll('#recent img').length >= count, batch.length, { timeout: seconds(180), polling: 500 });
  report.thumbnailsShown = await page.locator('#recent img').count();
  log(`${report.thumbnailsShown} thumbnails shown`);

  // 5. Reload while a large file uploads. The upload goes on from the offset the service holds, under the same upload
  // URL (tus-js-client keeps it in localStorage by the file's fingerprint): Golden Retriever restores the file by
  // itself; should its saved state lag behind (an earlier version of this test, which polled Uppy's IndexedDB from the
  // page, saw it miss the newest file), the person drops the same file again, and it resumes as well. Either way no
  // byte already stored is sent again.
  if (config.reload) {
    const name = path.basename(config.reload);
    await addFiles(config.reload);
    await page.waitForFunction(n => {
      const file = window.mediaUppy.getFiles().find(f => f.name === n);
      return file?.tus?.uploadUrl && (file.progress?.percentage ?? 0) >= 15;
    }, name, { timeout: seconds(120), polling: 50 });
    const before = await page.evaluate(n => window.mediaUppy.getFiles().find(f => f.name === n).tus.uploadUrl, name);
    report.reloadProgressAtReload = await progressOf(name);
    expectNetworkErrors = true;
    await page.reload();
    await page.waitForFunction(() => window.mediaUppy, null, { timeout: seconds(30) });
    // What the service holds of it now: the resume must start there, not at zero.
    const head = await fetch(new URL(before, config.baseUrl), { method: 'HEAD', headers: { Authorization: `Bearer ${config.key}`, 'Tus-Resumable': '1.0.0' } });
    report.reloadOffsetAfterReload = Number(head.headers.get('upload-offset') ?? -1);
    report.reloadRestoredByGoldenRetriever = await page.waitForFunction(n => window.mediaUppy.getFiles().some(f => f.name === n && !f.isGhost),
      name, { timeout: seconds(10), polling: 100 }).then(() => true, () => false);
    if (!report.reloadRestoredByGoldenRetriever) {
      await addFiles(config.reload);
    }
    const resumedPatches = [];
    const onResumePatch = request => { if (request.method() === 'PATCH' && request.url().includes('/files/')) resumedPatches.push(Number(request.headers()['upload-offset'] ?? -1)); };
    page.on('request', onResumePatch);
    await uploaded([name], seconds(180));
    page.off('request', onResumePatch);
    expectNetworkErrors = false;
    const after = await page.evaluate(n => window.mediaUppy.getFiles().find(f => f.name === n).response.uploadURL, name);
    report.reloadSameUpload = new URL(after, config.baseUrl).pathname === new URL(before, config.baseUrl).pathname;
    report.reloadFirstOffsetAfter = resumedPatches.length > 0 ? Math.min(...resumedPatches) : -1;
    log(`upload resumed after a reload at ${report.reloadProgressAtReload.toFixed(0)}% (service offset ${report.reloadOffsetAfterReload}, `
      + `${report.reloadRestoredByGoldenRetriever ? 'restored by Golden Retriever' : 'dropped again'}, first PATCH at ${report.reloadFirstOffsetAfter}, same upload: ${report.reloadSameUpload})`);
  }

  // 6. The gallery, with thumbnails.
  await page.goto('/app/#/items');
  await page.waitForFunction(() => document.querySelectorAll('#gallery li').length > 0 && document.querySelectorAll('#gallery img').length > 0,
    null, { timeout: seconds(60), polling: 250 });
  await page.waitForTimeout(500); // let the remaining thumbnails decode for the screenshot (not an assertion)
  await shot('gallery.png');
  log('gallery shown');

  // 7. An item page: edit its title (with If-Match), see it saved.
  const itemId = report.uploads[batch[0]];
  await page.goto(`/app/#/items/${itemId}`);
  await page.locator('#item-media img').waitFor({ timeout: seconds(60) });
  const title = `Harbour at dawn ${config.marker}`;
  await page.locator('#meta-title').fill(title);
  await page.locator('#meta-tags').fill('browser-test, sea');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('#meta-message', { hasText: 'Saved.' }).waitFor({ timeout: seconds(30) });
  await page.locator('#item-heading', { hasText: title }).waitFor();
  await shot('item.png');
  report.edited = { id: itemId, title };
  log(`title of ${itemId} saved`);

  // 8. Find it by search (the index follows the grain shortly after: search again until it shows, bounded).
  await page.goto('/app/#/items');
  await page.locator('#search-q').fill(config.marker);
  const deadline = Date.now() + seconds(60);
  let found = false;
  while (!found && Date.now() < deadline) {
    await page.getByRole('button', { name: 'Search' }).click();
    found = await page.locator(`#gallery li[data-id="${itemId}"]`).waitFor({ timeout: seconds(2) }).then(() => true, () => false);
  }
  report.foundBySearch = found;
  if (found) {
    await page.locator('#search-q').fill('');
    await page.locator('#search-tags').fill('browser-test');
    await page.getByRole('button', { name: 'Search' }).click();
    report.foundByTag = await page.locator(`#gallery li[data-id="${itemId}"]`).waitFor({ timeout: seconds(10) }).then(() => true, () => false);
  }
  await shot('search.png');
  log(`search by text found it: ${found}, by tag: ${report.foundByTag}`);

  // 9. Webhooks: a receiver of this script on 127.0.0.1 (the test environment allows private targets). The page
  // refuses a bad URL in words, makes the subscription, shows its secret once, lists it; an event of the item edited
  // above arrives signed with that secret, shows in the subscription's delivery log, is sent again from there under the
  // same webhook-id; the subscription is deleted after a confirmation.
  {
    const received = [];
    const receiver = http.createServer((request, response) => {
      const chunks = [];
      request.on('data', chunk => chunks.push(chunk));
      request.on('end', () => {
        received.push({ path: request.url, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        response.statusCode = 204;
        response.end();
      });
    });
    await new Promise(resolve => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const hookPath = `/hooks/${config.marker}`;
      const hookUrl = `http://127.0.0.1:${receiver.address().port}${hookPath}`;
      const signedWith = (secret, delivery) => {
        const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
        const h = delivery.headers;
        const expected = createHmac('sha256', key).update(`${h['webhook-id']}.${h['webhook-timestamp']}.${delivery.body}`).digest('base64');
        return (h['webhook-signature'] ?? '').split(' ').includes(`v1,${expected}`);
      };
      const updatesOfItem = () => received.filter(r => r.path === hookPath && r.body.includes('"type":"media.updated"') && r.body.includes(`"id":${itemId},`));
      const arrived = async (count, what) => {
        const until = Date.now() + seconds(60);
        while (updatesOfItem().length < count && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 100));
        if (updatesOfItem().length < count) throw new Error(`${what} did not reach the receiver within 60 s (received: ${received.length}).`);
        return updatesOfItem()[count - 1];
      };

      await page.goto('/app/#/webhooks');
      await page.locator('#webhooks-status', { hasText: /subscription/ }).waitFor();
      // A URL the service refuses: its words under the field.
      expectRefusal = true;
      await page.locator('#webhook-url').fill('ftp://127.0.0.1/hooks');
      await page.getByRole('button', { name: 'Create subscription' }).click();
      await page.locator('#webhook-url-error', { hasText: 'http or https' }).waitFor();
      const refusal = (await page.locator('#webhook-form-error').textContent()).trim();
      // The one that works: two event types, a description.
      await page.locator('#webhook-url').fill(hookUrl);
      await page.getByRole('checkbox', { name: 'All events' }).uncheck();
      await page.getByRole('checkbox', { name: /media\.updated/ }).check();
      await page.getByRole('checkbox', { name: /media\.deleted/ }).check();
      await page.locator('#webhook-description').fill(`Browser test ${config.marker}`);
      await page.getByRole('button', { name: 'Create subscription' }).click();
      await page.locator('#secret-box').waitFor({ state: 'visible' });
      expectRefusal = false;
      const secret = await page.locator('#secret-value').inputValue();
      const card = page.locator('#subscriptions li.subscription', { hasText: hookUrl });
      await card.waitFor();
      report.webhook = {
        id: await card.getAttribute('data-id'), url: hookUrl, refusal, secret,
        secretNote: (await page.locator('#secret-box .note').textContent()).trim(),
        secretFocused: await page.evaluate(() => document.activeElement?.id === 'secret-box'),
        listedStatus: (await card.locator('.subscription-status').textContent()).trim(),
      };
      log(`webhook ${report.webhook.id} subscribed to ${hookUrl}; a bad URL was refused with "${refusal}"`);

      // An event: the edited item's description changes (through the API; the title stays as step 7 left it).
      const patched = await fetch(new URL(`/media/${itemId}/metadata`, config.baseUrl), {
        method: 'PATCH', headers: { Authorization: `Bearer ${config.key}`, 'Content-Type': 'application/merge-patch+json' },
        body: JSON.stringify({ description: `Seen by a webhook ${config.marker}` }) });
      if (!patched.ok) throw new Error(`PATCH /media/${itemId}/metadata answered ${patched.status}`);
      const first = await arrived(1, 'The media.updated event');
      report.webhook.signedWithShownSecret = signedWith(secret, first);

      // Its delivery in the page's log, then sent again from there.
      await card.getByRole('button', { name: 'Recent deliveries' }).click();
      const delivered = card.locator('tr[data-type="media.updated"][data-status="delivered"]', { hasText: itemId }).first();
      await delivered.waitFor({ timeout: seconds(30) });
      const deliveryId = await delivered.getAttribute('data-id');
      report.webhook.lastAttempt = (await delivered.locator('.last-attempt').textContent()).trim();
      await delivered.getByRole('button', { name: /^Redeliver/ }).click();
      const second = await arrived(2, 'The redelivery');
      report.webhook.redeliveredSameId = second.headers['webhook-id'] === first.headers['webhook-id'] && second.body === first.body;
      const again = card.locator(`tr[data-id="${deliveryId}"][data-status="delivered"][data-attempts="2"]`);
      await again.waitFor({ timeout: seconds(30) });
      report.webhook.redeliveryAttempt = (await again.locator('.last-attempt').textContent()).trim();
      // The subscription's summary follows: a last success now.
      await card.locator('.last-success', { hasNotText: 'None yet' }).waitFor({ timeout: seconds(15) });
      report.webhook.lastSuccess = (await card.locator('.last-success').textContent()).trim();
      await shot('webhooks.png');

      // The secret leaves the page; the subscription is deleted after a confirmation.
      await page.getByRole('button', { name: 'I have copied it' }).click();
      report.webhook.secretGone = await page.locator('#secret-box').isHidden() && await page.locator('#secret-value').inputValue() === '';
      await card.getByRole('button', { name: 'Delete', exact: true }).click();
      await card.getByRole('button', { name: 'Delete subscription' }).click();
      await card.waitFor({ state: 'detached' });
      report.webhook.deletedInPage = true;
      log(`webhook delivery ${deliveryId} delivered (${report.webhook.lastAttempt}), redelivered (${report.webhook.redeliveryAttempt}); subscription deleted`);
    } finally {
      expectRefusal = false;
      receiver.close();
    }
  }

  // 10. A person without a key, through an upload link: a fresh browser profile opens the link and uploads.
  if (config.uploadLink) {
    const guest = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: config.baseUrl });
    const guestPage = await guest.newPage();
    guestPage.setDefaultTimeout(seconds(30));
    guestPage.on('console', message => { if (message.type() === 'error') report.consoleErrors.push(`(link) ${message.text()}`); });
    guestPage.on('pageerror', error => report.consoleErrors.push(`(link) pageerror: ${error.message}`));
    await guestPage.goto(config.uploadLink);
    await guestPage.locator('#link-note').waitFor();
    const guestInput = guestPage.locator('#dashboard input.uppy-Dashboard-input:not([webkitdirectory])').first();
    await guestInput.setInputFiles(config.linkFile);
    const name = path.basename(config.linkFile);
    await guestPage.waitForFunction(n => window.mediaUppy.getFiles().some(f => f.name === n && f.progress.uploadComplete && f.response?.uploadURL),
      name, { timeout: seconds(60), polling: 250 });
    const url = await guestPage.evaluate(n => window.mediaUppy.getFiles().find(f => f.name === n).response.uploadURL, name);
    report.linkUpload = { name, id: new URL(url, config.baseUrl).pathname.split('/').pop() };
    // Its status follows the service (GET /media/{id} is open to the link) until processing is done.
    await guestPage.locator('#recent .card-status[data-status="ready"]').waitFor({ timeout: seconds(120) });
    report.linkNavHidden = await guestPage.locator('#nav').isHidden();
    // The webhooks view is not theirs: its fragment still shows the upload view.
    await guestPage.evaluate(() => { location.hash = '#/webhooks'; });
    await guestPage.waitForTimeout(300);
    report.linkWebhooksHidden = await guestPage.locator('#view-webhooks').isHidden() && await guestPage.locator('#view-upload').isVisible();
    await guestPage.screenshot({ path: path.join(config.artifacts, 'upload-link.png'), fullPage: true });
    report.screenshots.push(path.join(config.artifacts, 'upload-link.png'));
    log(`uploaded through an upload link as item ${report.linkUpload.id}`);
    await guest.close();
  }
} catch (error) {
  report.error = `${error.message}\n${error.stack}`;
  exitCode = 1;
  // What Uppy held when it failed, and how the page looked.
  report.uppyFiles = await page?.evaluate(() => window.mediaUppy?.getFiles().map(f => ({ name: f.name, progress: f.progress,
    error: f.error ?? null, isGhost: f.isGhost ?? false, isRestored: f.isRestored ?? false, uploadUrl: f.tus?.uploadUrl ?? null }))).catch(() => null);
  await page?.screenshot({ path: path.join(config.artifacts, 'failure.png'), fullPage: true }).then(() => report.screenshots.push(path.join(config.artifacts, 'failure.png')), () => {});
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(report) + '\n');
process.exit(exitCode);
