// The service's HTTP API as the page uses it: one credential (an API key, or an upload link's token), sent as
// Authorization: Bearer on every request, never in a URL.

const keyStorage = 'media.apiKey';
const linkStorage = 'media.uploadLink';

/** The credential in use: { kind: 'key' | 'link', secret } or null. */
export function credential() {
  const link = sessionStorage.getItem(linkStorage);
  if (link) return { kind: 'link', secret: link };
  const key = localStorage.getItem(keyStorage);
  return key ? { kind: 'key', secret: key } : null;
}

export function saveKey(key) { localStorage.setItem(keyStorage, key); }
export function forgetKey() { localStorage.removeItem(keyStorage); }
/** An upload link's token lives for this tab only (a reload keeps it, so that an upload can resume). */
export function useUploadLink(token) { sessionStorage.setItem(linkStorage, token); }
export function leaveUploadLink() { sessionStorage.removeItem(linkStorage); }

/** The Authorization header for the current credential (empty when there is none). */
export function authHeaders() {
  const c = credential();
  return c ? { Authorization: `Bearer ${c.secret}` } : {};
}

/** A failed API call, carrying the problem details the service answered. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** fetch() with the credential; throws ApiError for a 4xx/5xx (except the statuses listed in `accept`). */
export async function api(path, { method = 'GET', headers = {}, body, accept = [], signal } = {}) {
  const response = await fetch(path, { method, headers: { ...authHeaders(), ...headers }, body, signal, cache: 'no-store' });
  if (!response.ok && !accept.includes(response.status)) {
    let problem = null;
    try { problem = await response.json(); } catch { /* not JSON */ }
    throw new ApiError(response.status, problem);
  }
  return response;
}

export async function apiJson(path, options) {
  const response = await api(path, options);
  return response.status === 204 ? null : response.json();
}

/** The item id at the end of a tus upload URL (/files/{id}). */
export function idFromUploadUrl(url) {
  const last = new URL(url, location.href).pathname.split('/').filter(Boolean).pop();
  return /^\d+$/.test(last ?? '') ? last : null;
}

/** A rendition or the content, read with the credential, as a blob: URL (revoke it when done). */
export async function blobUrl(path, accept = '*/*') {
  const response = await api(path, { headers: { Accept: accept } });
  return URL.createObjectURL(await response.blob());
}

export const thumbAccept = 'image/avif,image/webp,image/jpeg;q=0.9';

/** Whether the item is done: its upload failed or ended, or its processing reached an end. */
export function isSettled(item) {
  if (['failed', 'expired', 'terminated'].includes(item.status)) return true;
  return ['ready', 'rejected', 'failed'].includes(item.processing?.status);
}

/** A short human status of an item. */
export function describe(item) {
  switch (item.status) {
    case 'receiving': return 'Receiving bytes';
    case 'completing': return 'Assembling the upload';
    case 'failed': return `Upload failed${item.failureReason ? `: ${item.failureReason}` : ''}`;
    case 'expired': return 'Upload expired';
    case 'terminated': return 'Upload cancelled';
  }
  const p = item.processing;
  if (!p) return 'Stored, waiting for processing';
  switch (p.status) {
    case 'processing': return p.attempts > 1 ? `Processing (attempt ${p.attempts})` : 'Processing';
    case 'ready': return 'Ready';
    case 'rejected': return `Rejected${p.reason ? `: ${p.reason}` : ''}`;
    case 'failed': return `Processing failed${p.reason ? `: ${p.reason}` : ''}`;
    default: return p.status;
  }
}

export function formatBytes(n) {
  if (n == null) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** "a, b ,c" -> ['a', 'b', 'c'] */
export function splitList(text) {
  return text.split(',').map(s => s.trim()).filter(Boolean);
}

/** A short status of a search result (the index holds the upload status and the processing status). */
export function describeSummary(item) {
  if (item.status !== 'stored') return describe({ status: item.status });
  return item.processing ? describe({ status: 'stored', processing: { status: item.processing } }) : 'Stored';
}
