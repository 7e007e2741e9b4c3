// The upload view: Uppy's Dashboard uploading over tus to /files/, resumable (Golden Retriever keeps files and upload
// URLs across a reload), and a card per uploaded item whose processing status updates live.
import { Uppy, Dashboard, Tus, GoldenRetriever } from '../vendor/uppy/uppy.min.mjs';
import { authHeaders, credential, idFromUploadUrl, describe, blobUrl, thumbAccept, formatBytes } from './api.js';
import { watch } from './status.js';

/** Chunk size of tus PATCH requests (8 MiB, the service's S3 part size); a test may set another in localStorage. */
const chunkSize = Number(localStorage.getItem('media.chunkSize')) || 8 * 1024 * 1024;

let uppy = null;
const cards = new Map(); // id -> li

/** Starts Uppy once (a second call does nothing). */
export function startUploader({ announce }) {
  if (uppy) return uppy;
  const linkMode = credential()?.kind === 'link';
  uppy = new Uppy({
    id: linkMode ? 'media-upload-link' : 'media-upload',
    autoProceed: true,
    restrictions: { maxNumberOfFiles: 500 },
  });
  uppy.use(Dashboard, {
    inline: true,
    target: '#dashboard',
    width: '100%',
    height: 380,
    showProgressDetails: true,
    proudlyDisplayPoweredByUppy: false,
    hideProgressAfterFinish: false,
    note: 'Photos, videos and audio. Uploads resume after a network drop or a reload.',
    theme: 'light',
  });
  uppy.use(Tus, {
    endpoint: '/files/',
    chunkSize,
    limit: 4,
    // The credential is read at each request: "forget key" takes effect at once.
    headers: () => authHeaders(),
    // Retried for as long as a short outage lasts (tus-js-client gives up while the browser says it is offline;
    // a retry then waits for the network instead).
    retryDelays: [0, 1000, 2000, 3000, 5000, 5000, 10000, 10000, 10000, 15000, 15000],
    onShouldRetry: (error, attempt, options, next) => {
      const status = error?.originalResponse?.getStatus?.() ?? 0;
      return status === 0 ? true : next(error);
    },
    removeFingerprintOnSuccess: true,
  });
  uppy.use(GoldenRetriever, {
    // Files up to 1 GiB are kept in IndexedDB until they are uploaded, so that a reload can resume them.
    indexedDB: { maxFileSize: 1024 * 1024 * 1024, maxTotalSize: 4 * 1024 * 1024 * 1024 },
  });
  // A restored session resumes by itself (its files' blobs came back from IndexedDB).
  uppy.on('restored', () => uppy.emit('restore-confirmed'));

  uppy.on('upload-success', (file, response) => {
    const id = idFromUploadUrl(response.uploadURL);
    if (id) addCard(id, file.name, linkMode);
    announce(`${file.name} uploaded.`);
  });
  uppy.on('upload-error', (file, error) => {
    announce(`${file?.name ?? 'A file'} failed to upload: ${error?.message ?? error}`);
  });
  // Back online: failed uploads go on from the offset the service holds.
  window.addEventListener('online', () => {
    if (uppy.getFiles().some(f => f.error)) uppy.retryAll();
  });
  window.mediaUppy = uppy; // for the browser test and the console
  return uppy;
}

function addCard(id, name, linkMode) {
  if (cards.has(id)) return;
  document.getElementById('recent-empty').hidden = true;
  const li = document.createElement('li');
  li.className = 'card';
  li.dataset.id = id;
  const figure = document.createElement('div');
  figure.className = 'thumb';
  const title = document.createElement(linkMode ? 'span' : 'a');
  title.className = 'card-title';
  title.textContent = name;
  if (!linkMode) title.href = `#/items/${id}`;
  const status = document.createElement('p');
  status.className = 'card-status';
  status.dataset.status = 'pending';
  status.textContent = 'Waiting for the service…';
  li.append(figure, title, status);
  document.getElementById('recent').prepend(li);
  cards.set(id, li);

  let thumbShown = false;
  watch(id, async (item, error) => {
    if (!item) {
      status.textContent = `Status unavailable: ${error?.message ?? 'unknown'}`;
      status.dataset.status = 'error';
      return;
    }
    status.textContent = `${describe(item)} · ${formatBytes(item.size)}`;
    status.dataset.status = item.processing?.status ?? item.status;
    if (!linkMode && !thumbShown && item.processing?.status === 'ready'
        && item.processing.renditions.some(r => r.name.startsWith('thumb.'))) {
      thumbShown = true;
      // The watch ends with this answer: a read that fails now (a refusal under load) is tried again, a few times.
      for (let attempt = 1; attempt <= 6; attempt++) {
        try {
          const img = document.createElement('img');
          img.alt = `Thumbnail of ${name}`;
          img.src = await blobUrl(`/media/${id}/renditions/thumb`, thumbAccept);
          img.decoding = 'async';
          figure.replaceChildren(img);
          break;
        } catch {
          await new Promise(resolve => setTimeout(resolve, attempt * 1000));
        }
      }
    }
  });
}
