// Live processing status: every watched item is read again (GET /media/{id}, with If-None-Match so that an unchanged
// item costs a 304) until it settles. One loop for all items, one request at a time, paced.
import { api, isSettled } from './api.js';

const watched = new Map(); // id -> { etag, item, listeners: Set }
let running = false;
const pace = 1000;

/** Calls listener(item) now (once known) and on every change until the item settles. Returns an unsubscribe. */
export function watch(id, listener) {
  let entry = watched.get(id);
  if (!entry) {
    entry = { etag: null, item: null, listeners: new Set(), failures: 0 };
    watched.set(id, entry);
  }
  entry.listeners.add(listener);
  if (entry.item) listener(entry.item);
  if (!running) loop();
  return () => entry.listeners.delete(listener);
}

async function loop() {
  running = true;
  try {
    while (watched.size > 0) {
      for (const [id, entry] of [...watched]) {
        if (entry.listeners.size === 0) { watched.delete(id); continue; }
        await poll(id, entry);
      }
      await new Promise(resolve => setTimeout(resolve, pace));
    }
  } finally {
    running = false;
  }
}

async function poll(id, entry) {
  try {
    const response = await api(`/media/${id}`, { headers: entry.etag ? { 'If-None-Match': entry.etag } : {}, accept: [304] });
    entry.failures = 0;
    if (response.status === 304) return;
    entry.etag = response.headers.get('ETag');
    entry.item = await response.json();
    for (const listener of entry.listeners) listener(entry.item);
    if (isSettled(entry.item)) watched.delete(id);
  } catch (error) {
    // A 404 (deleted) or an auth failure ends the watch; anything else is tried again on the next round, a while.
    entry.failures++;
    if (error.status === 404 || error.status === 401 || error.status === 403 || entry.failures > 30) {
      for (const listener of entry.listeners) listener(null, error);
      watched.delete(id);
    }
  }
}
