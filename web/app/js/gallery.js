// "My items": search (text, tags, kind) and keyset pages over GET /media, thumbnails read with the key.
import { apiJson, blobUrl, thumbAccept, describeSummary, formatBytes, splitList } from './api.js';

const pageSize = 24;
let trail = [];          // the queries of the pages before this one (for "Previous page")
let current = null;      // the query of this page
let nextQuery = null;    // the query of the next page
let shown = [];          // blob: URLs to revoke when the page changes

/** Shows the first page for the form's search. */
export async function showGallery() {
  trail = [];
  await load(queryFromForm());
}

function queryFromForm() {
  const params = new URLSearchParams();
  const q = document.getElementById('search-q').value.trim();
  if (q) params.set('q', q);
  for (const tag of splitList(document.getElementById('search-tags').value)) params.append('tag', tag);
  const type = document.getElementById('search-type').value;
  if (type) params.set('type', type);
  params.set('limit', String(pageSize));
  return params.toString();
}

async function load(query) {
  const status = document.getElementById('items-status');
  const list = document.getElementById('gallery');
  status.textContent = 'Loading…';
  let page;
  try {
    page = await apiJson(`/media?${query}`);
  } catch (error) {
    status.textContent = `Search failed: ${error.message}`;
    return;
  }
  current = query;
  nextQuery = page.next ? new URL(page.next, location.href).search.slice(1) : null;
  shown.forEach(URL.revokeObjectURL);
  shown = [];
  list.replaceChildren(...page.items.map(card));
  status.textContent = page.items.length === 0
    ? 'No items match.'
    : `${page.items.length} item${page.items.length === 1 ? '' : 's'} on this page${nextQuery ? ', more on the next' : ''}.`;
  document.getElementById('page-prev').disabled = trail.length === 0;
  document.getElementById('page-next').disabled = !nextQuery;
}

function card(item) {
  const li = document.createElement('li');
  li.className = 'card';
  li.dataset.id = String(item.id);
  const figure = document.createElement('div');
  figure.className = 'thumb';
  const link = document.createElement('a');
  link.className = 'card-title';
  link.href = `#/items/${item.id}`;
  link.textContent = item.title || item.fileName || `Item ${item.id}`;
  const meta = document.createElement('p');
  meta.className = 'card-status';
  meta.textContent = `${describeSummary(item)} · ${formatBytes(item.size)}`;
  li.append(figure, link, meta);
  if (item.tags?.length) {
    const tags = document.createElement('p');
    tags.className = 'tags';
    tags.textContent = item.tags.map(t => `#${t}`).join(' ');
    li.append(tags);
  }
  if (item.processing === 'ready' && (item.kind === 'image' || item.kind === 'video')) {
    blobUrl(`/media/${item.id}/renditions/thumb`, thumbAccept).then(url => {
      shown.push(url);
      const img = document.createElement('img');
      img.src = url;
      img.alt = `Thumbnail of ${link.textContent}`;
      figure.replaceChildren(img);
    }, () => { /* no thumbnail: the card still shows */ });
  }
  return li;
}

export function wireGallery() {
  document.getElementById('search-form').addEventListener('submit', event => {
    event.preventDefault();
    showGallery();
  });
  document.getElementById('page-next').addEventListener('click', () => {
    if (!nextQuery) return;
    trail.push(current);
    load(nextQuery);
  });
  document.getElementById('page-prev').addEventListener('click', () => {
    if (trail.length === 0) return;
    load(trail.pop());
  });
}
