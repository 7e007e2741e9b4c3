// The app's shell: which credential is in use (a pasted API key, or an upload link's token from the URL fragment),
// and which view the fragment names (#/upload, #/items, #/items/{id}, #/webhooks). An upload link's session only uploads:
// whatever the fragment, it gets the upload view, and no navigation to the others.
import { api, credential, saveKey, forgetKey, useUploadLink, leaveUploadLink, ApiError } from './api.js';
import { startUploader } from './upload.js';
import { showGallery, wireGallery } from './gallery.js';
import { showItem, wireItem } from './item.js';
import { showWebhooks, wireWebhooks, leaveWebhooks } from './webhooks.js';

const views = ['key', 'upload', 'items', 'item', 'webhooks'];

function announce(message) {
  const el = document.getElementById('announcer');
  el.textContent = '';
  // A change of content is what screen readers announce.
  setTimeout(() => { el.textContent = message; }, 50);
}

function show(name) {
  // The webhooks view holds a secret on screen and reads deliveries while shown: leaving it ends both.
  if (name !== 'webhooks') leaveWebhooks();
  for (const view of views) document.getElementById(`view-${view}`).hidden = view !== name;
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === name || (name === 'item' && a.dataset.nav === 'items')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function header() {
  const c = credential();
  document.getElementById('nav').hidden = c?.kind !== 'key';
  document.getElementById('key-state').hidden = !c;
  document.getElementById('key-label').textContent = c?.kind === 'link' ? 'Using an upload link' : c ? `Key …${c.secret.slice(-4)}` : '';
  document.getElementById('forget-key').textContent = c?.kind === 'link' ? 'Leave upload link' : 'Forget key';
}

async function route() {
  const hash = location.hash;
  const token = /^#upload=([A-Za-z0-9_.-]+)$/.exec(hash)?.[1];
  if (token) {
    useUploadLink(token);
    // The token out of the address bar and the history (it stays in this tab's session storage only).
    history.replaceState(null, '', `${location.pathname}#/upload`);
  }
  header();
  const c = credential();
  if (!c) {
    show('key');
    document.getElementById('key-input').focus();
    return;
  }
  if (c.kind === 'link') {
    document.getElementById('link-note').hidden = false;
    document.getElementById('link-note').textContent =
      'You are uploading through a link someone shared with you: files go to their library. The link works until it expires.';
    show('upload');
    startUploader({ announce });
    return;
  }
  const item = /^#\/items\/(\d+)$/.exec(hash);
  if (item) {
    show('item');
    await showItem(item[1]);
  } else if (hash === '#/items') {
    show('items');
    await showGallery();
  } else if (hash === '#/webhooks') {
    show('webhooks');
    await showWebhooks();
  } else {
    show('upload');
    startUploader({ announce });
  }
}

function moveFocus() {
  // After a change of view, focus goes to the main region so that keyboard and screen reader users start there.
  document.getElementById('main').focus({ preventScroll: true });
}

document.getElementById('key-form').addEventListener('submit', async event => {
  event.preventDefault();
  const input = document.getElementById('key-input');
  const error = document.getElementById('key-error');
  const key = input.value.trim();
  error.textContent = '';
  if (!key) return;
  try {
    // One cheap call checks the key before it is kept.
    await fetch('/media?limit=1', { headers: { Authorization: `Bearer ${key}` } }).then(r => {
      if (r.status === 401) throw new ApiError(401, { detail: 'This key is not accepted (unknown or revoked).' });
      if (!r.ok) throw new ApiError(r.status, { detail: `The service answered ${r.status}.` });
    });
  } catch (e) {
    error.textContent = e.message;
    input.focus();
    return;
  }
  saveKey(key);
  input.value = '';
  announce('Key saved.');
  if (!location.hash || location.hash === '#/upload') await route(); else location.hash = '#/upload';
  moveFocus();
});

document.getElementById('forget-key').addEventListener('click', () => {
  if (credential()?.kind === 'link') leaveUploadLink(); else forgetKey();
  announce('Signed out.');
  // Uppy holds the old credential's uploads: start clean.
  location.hash = '';
  location.reload();
});

wireGallery();
wireItem();
wireWebhooks({ announce });
window.addEventListener('hashchange', () => { route().then(moveFocus); });
route();
