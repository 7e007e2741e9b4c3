// One item: its metadata, edited by a JSON merge patch with If-Match (a 412 says someone changed it elsewhere), its
// facts, and its renditions shown in the page (image, <video>, <audio>) through a share link (the elements cannot
// send the key; the link opens only this item's content and renditions, and expires).
import { api, apiJson, ApiError, describe, formatBytes, splitList } from './api.js';
import { watch } from './status.js';

let state = null; // { id, etag, item, unwatch }

export async function showItem(id) {
  state?.unwatch?.();
  state = { id, etag: null, item: null, unwatch: null };
  const heading = document.getElementById('item-heading');
  heading.textContent = `Item ${id}`;
  document.getElementById('meta-message').textContent = '';
  document.getElementById('item-media').replaceChildren();
  document.getElementById('item-facts').replaceChildren();
  document.getElementById('item-renditions').replaceChildren();
  await reload();
}

async function reload() {
  const { id } = state;
  const status = document.getElementById('item-status');
  let response;
  try {
    response = await api(`/media/${id}`);
  } catch (error) {
    status.textContent = error.status === 404 ? 'This item does not exist (or is not yours).' : `Could not load the item: ${error.message}`;
    return;
  }
  if (state?.id !== id) return;
  state.etag = response.headers.get('ETag');
  const item = await response.json();
  render(item, true);
  // Until it settles, its status and renditions follow the service.
  state.unwatch = watch(String(id), next => {
    if (next && state?.id === id && next.version !== state.item?.version) {
      render(next, false);
    }
  });
}

function render(item, fillForm) {
  const firstReady = state.item?.processing?.status !== 'ready' && item.processing?.status === 'ready';
  state.item = item;
  document.getElementById('item-heading').textContent = item.title || item.fileName || `Item ${item.id}`;
  document.getElementById('item-status').textContent = describe(item);
  if (fillForm) {
    document.getElementById('meta-title').value = item.title ?? '';
    document.getElementById('meta-description').value = item.description ?? '';
    document.getElementById('meta-tags').value = item.tags.join(', ');
    document.getElementById('meta-keywords').value = item.keywords.join(', ');
  }
  renderFacts(item);
  if (fillForm || firstReady) renderMedia(item);
}

function renderFacts(item) {
  const facts = { 'File name': item.fileName, 'Size': formatBytes(item.size), 'Declared type': item.contentType,
    'Uploaded': new Date(item.createdAt).toLocaleString(), 'SHA-256': item.sha256 };
  const f = item.processing?.facts;
  if (f) {
    Object.assign(facts, {
      'Kind': f.kind, 'Detected type': f.detectedType,
      'Dimensions': f.width && f.height ? `${f.width} × ${f.height}` : null,
      'Duration': f.durationSeconds != null ? `${f.durationSeconds.toFixed(1)} s` : null,
      'Codecs': [f.videoCodec, f.audioCodec].filter(Boolean).join(', ') || null,
      'Camera': [f.cameraMake, f.cameraModel].filter(Boolean).join(' ') || null,
      'Taken': f.takenAt,
    });
  }
  const dl = document.getElementById('item-facts');
  dl.replaceChildren();
  for (const [name, value] of Object.entries(facts)) {
    if (value == null || value === '') continue;
    const dt = document.createElement('dt');
    dt.textContent = name;
    const dd = document.createElement('dd');
    dd.textContent = value;
    dl.append(dt, dd);
  }
}

async function renderMedia(item) {
  const box = document.getElementById('item-media');
  const list = document.getElementById('item-renditions');
  const renditions = item.processing?.status === 'ready' ? item.processing.renditions : [];
  if (renditions.length === 0) {
    box.replaceChildren(text('p', item.processing?.status === 'processing' || !item.processing
      ? 'Renditions appear here once processing is done.' : 'No renditions.'));
    list.replaceChildren();
    return;
  }
  let link;
  try {
    link = await apiJson(`/media/${item.id}/links`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ expiresInSeconds: 3600 }) });
  } catch (error) {
    box.replaceChildren(text('p', `Could not open the renditions: ${error.message}`));
    return;
  }
  if (state?.id !== item.id && String(state?.id) !== String(item.id)) return;
  const url = name => link.renditions[name];
  const name = n => renditions.some(r => r.name === n);
  const label = item.title || item.fileName || `item ${item.id}`;
  let element;
  if (name('web.mp4')) {
    element = document.createElement('video');
    element.controls = true;
    element.preload = 'metadata';
    if (name('poster.jpg')) element.poster = url('poster.jpg');
    element.src = url('web.mp4');
    element.setAttribute('aria-label', `Video: ${label}`);
  } else if (name('audio.m4a')) {
    element = document.createElement('audio');
    element.controls = true;
    element.preload = 'metadata';
    element.src = url('audio.m4a');
    element.setAttribute('aria-label', `Audio: ${label}`);
  } else if (url('display')) {
    element = document.createElement('img');
    element.src = url('display');
    element.alt = label;
  }
  box.replaceChildren(...(element ? [element] : []));
  list.replaceChildren(...renditions.map(r => {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = url(r.name);
    a.target = '_blank';
    a.rel = 'noopener';
    a.textContent = r.name;
    li.append(a, ` ${r.width && r.height ? `${r.width} × ${r.height}, ` : ''}${formatBytes(r.size)}`);
    return li;
  }));
}

function text(tag, value) {
  const el = document.createElement(tag);
  el.textContent = value;
  return el;
}

/** The merge patch of what the form changed (absent members keep their values; an emptied text is removed). */
function patchFromForm(item) {
  const patch = {};
  const title = document.getElementById('meta-title').value.trim();
  const description = document.getElementById('meta-description').value.trim();
  const tags = splitList(document.getElementById('meta-tags').value);
  const keywords = splitList(document.getElementById('meta-keywords').value);
  if (title !== (item.title ?? '')) patch.title = title || null;
  if (description !== (item.description ?? '')) patch.description = description || null;
  if (tags.join('\n') !== item.tags.join('\n')) patch.tags = tags;
  if (keywords.join('\n') !== item.keywords.join('\n')) patch.keywords = keywords;
  return patch;
}

export function wireItem() {
  document.getElementById('meta-form').addEventListener('submit', async event => {
    event.preventDefault();
    if (!state?.item) return;
    const message = document.getElementById('meta-message');
    const patch = patchFromForm(state.item);
    if (Object.keys(patch).length === 0) {
      message.textContent = 'Nothing changed.';
      return;
    }
    const save = document.getElementById('meta-save');
    save.disabled = true;
    message.textContent = 'Saving…';
    message.className = '';
    try {
      const response = await api(`/media/${state.id}/metadata`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': state.etag },
        body: JSON.stringify(patch),
      });
      state.etag = response.headers.get('ETag');
      render(await response.json(), true);
      message.textContent = 'Saved.';
      message.className = 'ok';
    } catch (error) {
      message.className = 'error';
      if (error instanceof ApiError && error.status === 412) {
        message.textContent = 'This item was changed elsewhere since you opened it. Reload to see the current version, then edit again.';
      } else if (error instanceof ApiError && error.problem?.errors) {
        message.textContent = `Not saved: ${Object.entries(error.problem.errors).map(([k, v]) => `${k}: ${v.join(' ')}`).join('; ')}`;
      } else {
        message.textContent = `Not saved: ${error.message}`;
      }
    } finally {
      save.disabled = false;
    }
  });
  document.getElementById('meta-reload').addEventListener('click', () => state && showItem(state.id));
}
