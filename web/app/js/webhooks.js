// "Webhooks": the key's subscriptions (GET /webhooks), a form to make one (POST, whose answer holds the signing secret,
// shown once), rotating a secret, enabling a disabled subscription again, deleting one (after a confirmation in the
// page), and per subscription its recent deliveries (GET /webhooks/{id}/deliveries) with a redelivery per delivery.
// Only a session with an API key gets here: an upload link's token can only upload (main.js never routes it here).
import { apiJson, ApiError, credential } from './api.js';

const deliveriesPerPanel = 10;
const fieldNames = { url: 'URL', events: 'Events', description: 'Description', enabled: 'Enabled', status: 'Status', limit: 'Limit', cursor: 'Cursor' };

let announce = () => {};
let subscriptions = [];       // as GET /webhooks answered, oldest first
const panels = new Map();     // subscription id -> { open, timer, cursor, watch } of its deliveries panel
let generation = 0;           // bumped on every showing of the view: late answers of an earlier one are dropped

/** The words of a failed call: the problem's field errors, or its detail, or what went wrong on the way. */
export function problemText(error) {
  if (error instanceof ApiError) {
    const errors = error.problem?.errors;
    if (errors && typeof errors === 'object' && Object.keys(errors).length > 0) {
      return Object.entries(errors).map(([field, messages]) => `${fieldNames[field] ?? field}: ${[].concat(messages).join(' ')}`).join(' ');
    }
    switch (error.problem?.code) {
      case 'webhook-disabled': return 'This subscription is disabled: enable it again before redelivering.';
      case 'webhook-not-found': return 'This subscription no longer exists (it may have been deleted elsewhere).';
      case 'delivery-not-found': return 'This delivery is no longer in the log.';
    }
    if (error.status === 401) return 'The key is not accepted any more (unknown or revoked).';
    if (error.status === 403) return 'This key may not manage webhooks.';
    return error.message;
  }
  if (error instanceof TypeError) return 'The service could not be reached. Check the connection and try again.';
  return String(error?.message ?? error);
}

function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value == null || value === false) continue;
    if (name === 'className') element.className = value;
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(...children.filter(c => c != null && c !== false));
  return element;
}

function when(value) {
  return value ? new Date(value).toLocaleString() : null;
}

function nameOf(subscription) {
  return subscription.description || subscription.url;
}

/** Shows the view: the list read anew, the form reset, no secret left on screen. */
export async function showWebhooks() {
  generation++;
  hideSecret();
  for (const panel of panels.values()) clearTimeout(panel.timer);
  panels.clear();
  clearFormErrors();
  await loadList();
}

async function loadList() {
  const mine = generation;
  const status = document.getElementById('webhooks-status');
  status.textContent = 'Loading…';
  let list;
  try {
    list = await apiJson('/webhooks');
  } catch (error) {
    if (mine !== generation) return;
    status.textContent = `Could not read your subscriptions: ${problemText(error)}`;
    return;
  }
  if (mine !== generation) return;
  subscriptions = list;
  renderList();
}

function renderList() {
  const status = document.getElementById('webhooks-status');
  const ul = document.getElementById('subscriptions');
  status.textContent = subscriptions.length === 0
    ? 'No subscriptions yet: make one with the form below.'
    : `${subscriptions.length} subscription${subscriptions.length === 1 ? '' : 's'}.`;
  ul.replaceChildren(...subscriptions.map(card));
  // Panels that were open stay open (with their content read again).
  for (const [id, panel] of panels) {
    if (!subscriptions.some(s => String(s.id) === id)) {
      clearTimeout(panel.timer);
      panels.delete(id);
    } else if (panel.open) {
      openPanel(id);
    }
  }
}

// What a subscription is now: its state (and why it is disabled), target, events, queue and last success.
function summary(s) {
  const disabled = s.status === 'disabled';
  const facts = {
    'Status': disabled ? 'Disabled' : 'Enabled',
    'URL': s.url,
    'Events': s.events.includes('*') ? 'All events' : s.events.join(', '),
    'Pending deliveries': String(s.pendingDeliveries),
    'Last success': when(s.lastSuccessAt) ?? 'None yet',
    'Created': when(s.createdAt),
  };
  if (s.previousSecretUntil && new Date(s.previousSecretUntil) > new Date()) {
    facts['Previous secret signs until'] = when(s.previousSecretUntil);
  }
  const classes = { 'Status': 'subscription-status', 'Pending deliveries': 'pending-deliveries', 'Last success': 'last-success' };
  const dl = el('dl', { className: 'facts' });
  for (const [name, value] of Object.entries(facts)) {
    const dd = el('dd', { className: classes[name], dataset: name === 'Status' ? { status: s.status } : null },
      name === 'URL' ? el('code', {}, value) : value);
    dl.append(el('dt', {}, name), dd);
  }
  const note = disabled
    ? el('p', { className: 'note disabled-note' },
      `Disabled${s.disabledAt ? ` on ${when(s.disabledAt)}` : ''}: ${(s.disabledReason || 'no reason recorded').replace(/\.$/, '')}. `
      + 'It gets no new events and its pending deliveries wait until you enable it again.')
    : null;
  return [note, dl].filter(Boolean);
}

/** Shows a subscription's state read anew, leaving its buttons, messages and deliveries panel as they are. */
function updateSummary(s) {
  const id = String(s.id);
  const index = subscriptions.findIndex(x => String(x.id) === id);
  const li = itemOf(id);
  if (index < 0 || !li) return;
  subscriptions[index] = s;
  li.dataset.status = s.status;
  li.querySelector('.summary').replaceChildren(...summary(s));
  li.querySelector('[data-action="enable"]').hidden = s.status !== 'disabled';
}

function card(s) {
  const id = String(s.id);
  const headingId = `subscription-${id}-heading`;
  const li = el('li', { className: 'subscription', dataset: { id, status: s.status }, 'aria-labelledby': headingId });
  li.append(el('h4', { id: headingId }, `${nameOf(s)} `, el('span', { className: 'muted' }, `#${id}`)));
  li.append(el('div', { className: 'summary' }, ...summary(s)));

  const panelId = `subscription-${id}-deliveries`;
  const toggle = el('button', { type: 'button', className: 'secondary', 'aria-expanded': 'false', 'aria-controls': panelId,
    'aria-describedby': headingId, dataset: { action: 'deliveries' } }, 'Recent deliveries');
  const rotate = el('button', { type: 'button', className: 'secondary', 'aria-describedby': headingId, dataset: { action: 'rotate' } }, 'Rotate secret');
  const enable = el('button', { type: 'button', hidden: s.status !== 'disabled', 'aria-describedby': headingId, dataset: { action: 'enable' } }, 'Enable again');
  const remove = el('button', { type: 'button', className: 'danger', 'aria-describedby': headingId, dataset: { action: 'delete' } }, 'Delete');
  li.append(el('div', { className: 'row actions' }, toggle, enable, rotate, remove));

  // The confirmation of a delete, in the page (a native dialog would block the page and the status updates).
  const confirmId = `subscription-${id}-confirm`;
  li.append(el('div', { className: 'confirm', id: confirmId, hidden: true, role: 'group', 'aria-label': `Confirm deleting ${nameOf(s)}` },
    el('p', {}, `Delete this subscription? Events stop going to ${s.url}; its queue and delivery log are deleted with it. This cannot be undone.`),
    el('div', { className: 'row' },
      el('button', { type: 'button', className: 'danger', dataset: { action: 'confirm-delete' } }, 'Delete subscription'),
      el('button', { type: 'button', className: 'secondary', dataset: { action: 'cancel-delete' } }, 'Keep it'))));
  li.append(el('p', { className: 'subscription-message', role: 'status', 'aria-live': 'polite' }));
  li.append(el('div', { className: 'deliveries', id: panelId, hidden: true, role: 'region', 'aria-label': `Recent deliveries of ${nameOf(s)}` }));
  return li;
}

function itemOf(id) {
  return document.querySelector(`#subscriptions li[data-id="${CSS.escape(String(id))}"]`);
}

function message(id, text, kind = '') {
  const p = itemOf(id)?.querySelector('.subscription-message');
  if (!p) return;
  p.textContent = text;
  p.className = `subscription-message ${kind}`.trim();
}

// The secret, shown once: after a creation or a rotation, until "I have copied it" or the view is left.
function showSecret(subscription, secret, rotated) {
  const box = document.getElementById('secret-box');
  document.getElementById('secret-heading').textContent = rotated
    ? `New signing secret of ${nameOf(subscription)}` : `Signing secret of ${nameOf(subscription)}`;
  document.getElementById('secret-context').textContent = rotated && subscription.previousSecretUntil
    ? `Deliveries are signed with it from now on; the previous secret keeps signing beside it until ${when(subscription.previousSecretUntil)}, so update your receiver before then.`
    : 'Your receiver needs it to check the signature of every delivery. If you lose it, rotate the secret to get a new one.';
  const input = document.getElementById('secret-value');
  input.value = secret;
  document.getElementById('secret-message').textContent = '';
  box.dataset.id = String(subscription.id);
  box.hidden = false;
  box.scrollIntoView({ block: 'nearest' });
  box.focus();
}

function hideSecret() {
  const box = document.getElementById('secret-box');
  document.getElementById('secret-value').value = '';
  document.getElementById('secret-message').textContent = '';
  box.hidden = true;
  delete box.dataset.id;
}

function clearFormErrors() {
  for (const field of ['url', 'events', 'description']) {
    document.getElementById(`webhook-${field}-error`).textContent = '';
  }
  document.getElementById('webhook-url').removeAttribute('aria-invalid');
  document.getElementById('webhook-description').removeAttribute('aria-invalid');
  document.getElementById('webhook-events').removeAttribute('aria-invalid');
  document.getElementById('webhook-form-error').textContent = '';
}

function eventsFromForm() {
  if (document.getElementById('webhook-all').checked) return ['*'];
  return [...document.querySelectorAll('#webhook-events input[name="event"]:checked')].map(input => input.value);
}

function syncEventBoxes() {
  const all = document.getElementById('webhook-all').checked;
  for (const input of document.querySelectorAll('#webhook-events input[name="event"]')) {
    input.disabled = all;
  }
}

function showFieldErrors(errors) {
  let first = null;
  for (const [field, messages] of Object.entries(errors)) {
    const target = { url: 'webhook-url', events: 'webhook-events', description: 'webhook-description' }[field];
    if (!target) continue;
    document.getElementById(`webhook-${field}-error`).textContent = [].concat(messages).join(' ');
    document.getElementById(target).setAttribute('aria-invalid', 'true');
    first ??= field === 'events' ? document.querySelector('#webhook-events input:not(:disabled)') : document.getElementById(target);
  }
  first?.focus();
}

async function create(event) {
  event.preventDefault();
  clearFormErrors();
  const urlInput = document.getElementById('webhook-url');
  const url = urlInput.value.trim();
  const events = eventsFromForm();
  const description = document.getElementById('webhook-description').value.trim();
  const local = {};
  if (!url) local.url = ['Enter the URL the events are sent to.'];
  if (events.length === 0) local.events = ['Choose at least one event, or all events.'];
  if (Object.keys(local).length > 0) {
    document.getElementById('webhook-form-error').textContent = `Not created: ${problemText(new ApiError(400, { errors: local }))}`;
    showFieldErrors(local);
    return;
  }
  const button = document.getElementById('webhook-create');
  button.disabled = true;
  try {
    const made = await apiJson('/webhooks', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ url, events, description }) });
    document.getElementById('webhook-form').reset();
    syncEventBoxes();
    announce(`Subscription to ${made.url} created.`);
    await loadList();
    showSecret(made, made.secret, false);
  } catch (error) {
    document.getElementById('webhook-form-error').textContent = `Not created: ${problemText(error)}`;
    if (error instanceof ApiError && error.problem?.errors) showFieldErrors(error.problem.errors);
    else urlInput.focus();
  } finally {
    button.disabled = false;
  }
}

async function act(li, action, button) {
  const id = li.dataset.id;
  const subscription = subscriptions.find(s => String(s.id) === id);
  if (!subscription) return;
  const confirm = li.querySelector('.confirm');
  switch (action) {
    case 'deliveries': {
      const panel = panels.get(id);
      if (panel?.open) closePanel(id); else await openPanel(id);
      return;
    }
    case 'delete':
      confirm.hidden = false;
      confirm.querySelector('[data-action="confirm-delete"]').focus();
      return;
    case 'cancel-delete':
      confirm.hidden = true;
      li.querySelector('[data-action="delete"]').focus();
      return;
  }
  button.disabled = true;
  message(id, action === 'rotate' ? 'Rotating…' : action === 'enable' ? 'Enabling…' : 'Deleting…');
  try {
    if (action === 'confirm-delete') {
      await apiJson(`/webhooks/${id}`, { method: 'DELETE' });
      if (document.getElementById('secret-box').dataset.id === id) hideSecret();
      subscriptions = subscriptions.filter(s => String(s.id) !== id);
      clearTimeout(panels.get(id)?.timer);
      panels.delete(id);
      renderList();
      announce(`Subscription ${nameOf(subscription)} deleted.`);
      document.getElementById('subscriptions-heading').focus();
      return;
    }
    if (action === 'rotate') {
      const rotated = await apiJson(`/webhooks/${id}/rotate`, { method: 'POST' });
      await loadList();
      showSecret({ ...subscription, ...rotated }, rotated.secret, true);
      announce('Secret rotated: copy the new one now.');
      return;
    }
    if (action === 'enable') {
      const updated = await apiJson(`/webhooks/${id}`, {
        method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ enabled: true }) });
      subscriptions = subscriptions.map(s => String(s.id) === id ? updated : s);
      renderList();
      message(id, 'Enabled again: new events are delivered, and its pending deliveries resume.', 'ok');
      itemOf(id)?.querySelector('[data-action="deliveries"]')?.focus();
    }
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      await loadList();
    }
    message(id, problemText(error), 'error');
    if (button.isConnected) {
      button.disabled = false;
      button.focus();
    }
    if (action === 'confirm-delete') confirm.hidden = true;
  }
}

// The deliveries panel of one subscription: its newest deliveries, read again every few seconds while one is pending
// (or a redelivery is awaited) and the panel is open.
async function openPanel(id, cursor = null) {
  const li = itemOf(id);
  if (!li) return;
  let panel = panels.get(id);
  if (!panel) {
    panel = { open: true, timer: 0, cursor: null, watch: null };
    panels.set(id, panel);
  }
  panel.open = true;
  panel.cursor = cursor;
  clearTimeout(panel.timer);
  const box = li.querySelector('.deliveries');
  const toggle = li.querySelector('[data-action="deliveries"]');
  toggle.setAttribute('aria-expanded', 'true');
  box.hidden = false;
  if (!box.firstChild) box.append(el('p', { className: 'muted' }, 'Loading…'));
  await loadDeliveries(id);
}

function closePanel(id) {
  const panel = panels.get(id);
  if (panel) {
    clearTimeout(panel.timer);
    panels.delete(id);
  }
  const li = itemOf(id);
  if (!li) return;
  li.querySelector('.deliveries').hidden = true;
  li.querySelector('.deliveries').replaceChildren();
  li.querySelector('[data-action="deliveries"]').setAttribute('aria-expanded', 'false');
}

async function loadDeliveries(id) {
  const mine = generation;
  const panel = panels.get(id);
  const query = new URLSearchParams({ limit: String(deliveriesPerPanel) });
  if (panel.cursor) query.set('cursor', panel.cursor);
  let page;
  try {
    page = await apiJson(`/webhooks/${id}/deliveries?${query}`);
  } catch (error) {
    if (mine !== generation || panels.get(id) !== panel) return;
    itemOf(id)?.querySelector('.deliveries')?.replaceChildren(el('p', { className: 'error' }, `Could not read the deliveries: ${problemText(error)}`));
    return;
  }
  if (mine !== generation || panels.get(id) !== panel || !panel.open) return;
  renderDeliveries(id, page);
  // The subscription's counts and last success follow its deliveries.
  apiJson(`/webhooks/${id}`).then(s => { if (mine === generation) updateSummary(s); }, () => { /* the list shows what it had */ });
  const watched = panel.watch && page.items.find(d => String(d.id) === panel.watch.deliveryId);
  if (watched && (watched.status !== 'pending' && watched.attempts > panel.watch.attempts)) panel.watch = null;
  if (panel.watch && --panel.watch.rounds <= 0) panel.watch = null;
  const again = panel.watch || page.items.some(d => d.status === 'pending');
  if (again && !document.getElementById('view-webhooks').hidden) {
    panel.timer = setTimeout(() => { if (panels.get(id) === panel && panel.open) loadDeliveries(id); }, panel.watch ? 1000 : 3000);
  }
}

function lastAttemptText(attempt) {
  if (!attempt) return 'Not tried yet';
  const parts = [attempt.statusCode != null ? `HTTP ${attempt.statusCode}` : 'No answer', `${attempt.latencyMs} ms`];
  if (attempt.error) parts.push(attempt.error);
  if (attempt.manual) parts.push('redelivery');
  return parts.join(' · ');
}

function statusText(d) {
  switch (d.status) {
    case 'pending': return d.nextAttemptAt ? `Pending (next try ${when(d.nextAttemptAt)})` : 'Pending';
    case 'delivered': return `Delivered${d.finishedAt ? ` ${when(d.finishedAt)}` : ''}`;
    case 'failed': return `Failed${d.finishedAt ? ` ${when(d.finishedAt)}` : ''}`;
    default: return d.status;
  }
}

function renderDeliveries(id, page) {
  const li = itemOf(id);
  if (!li) return;
  const subscription = subscriptions.find(s => String(s.id) === id);
  const disabled = subscription?.status === 'disabled';
  const box = li.querySelector('.deliveries');
  const panel = panels.get(id);
  const focused = box.contains(document.activeElement) ? document.activeElement : null;
  const focusKey = focused ? `${focused.closest('tr')?.dataset.id ?? ''}:${focused.dataset.action ?? ''}` : null;
  const children = [];
  if (page.items.length === 0) {
    children.push(el('p', { className: 'muted' }, panel.cursor
      ? 'No older deliveries.'
      : 'No deliveries yet. Events of changes made after the subscription was created are sent here.'));
  } else {
    const rows = page.items.map(d => {
      const last = d.recentAttempts?.[0];
      const redeliver = el('button', { type: 'button', className: 'secondary small', disabled,
        'aria-label': `Redeliver delivery ${d.id}`, dataset: { action: 'redeliver' } }, 'Redeliver');
      const attemptsCell = el('td', { className: 'attempts' }, String(d.attempts));
      if ((d.recentAttempts?.length ?? 0) > 1) {
        attemptsCell.append(el('details', {}, el('summary', {}, 'all'),
          el('ul', { className: 'attempt-list' }, ...d.recentAttempts.map(a =>
            el('li', {}, `#${a.attempt} ${when(a.startedAt)}: ${lastAttemptText(a)}`)))));
      }
      return el('tr', { dataset: { id: String(d.id), type: d.type, status: d.status, attempts: String(d.attempts) } },
        el('td', {}, String(d.id)),
        el('td', {}, el('code', {}, d.type)),
        el('td', {}, el('a', { href: `#/items/${d.mediaId}` }, String(d.mediaId))),
        el('td', { className: 'delivery-status', dataset: { status: d.status } }, statusText(d)),
        attemptsCell,
        el('td', { className: 'last-attempt' }, lastAttemptText(last)),
        el('td', {}, redeliver));
    });
    const table = el('table', { className: 'deliveries-table' },
      el('caption', {}, `Deliveries of ${subscription ? nameOf(subscription) : `subscription ${id}`}, newest first`),
      el('thead', {}, el('tr', {}, ...['Delivery', 'Event', 'Item', 'Status', 'Attempts', 'Last attempt', ''].map(h =>
        el('th', { scope: 'col' }, h || el('span', { className: 'visually-hidden' }, 'Action'))))),
      el('tbody', {}, ...rows));
    children.push(el('div', { className: 'table-scroll', tabindex: '0', role: 'group', 'aria-label': 'Deliveries table' }, table));
    if (disabled) children.push(el('p', { className: 'hint' }, 'Enable the subscription again to redeliver.'));
  }
  children.push(el('div', { className: 'row' },
    el('button', { type: 'button', className: 'secondary small', dataset: { action: 'refresh' } }, 'Refresh'),
    panel.cursor ? el('button', { type: 'button', className: 'secondary small', dataset: { action: 'newest' } }, 'Newest') : null,
    page.next ? el('button', { type: 'button', className: 'secondary small', dataset: { action: 'older', cursor: page.next } }, 'Older') : null));
  box.replaceChildren(...children);
  // A refresh keeps the keyboard where it was.
  if (focusKey) {
    const [row, action] = focusKey.split(':');
    const again = row ? box.querySelector(`tr[data-id="${CSS.escape(row)}"] [data-action="${action}"]`) : box.querySelector(`[data-action="${action}"]`);
    (again && !again.disabled ? again : box.querySelector('[data-action="refresh"]'))?.focus();
  }
}

async function panelAction(li, action, button) {
  const id = li.dataset.id;
  const panel = panels.get(id);
  if (!panel) return;
  if (action === 'refresh') { clearTimeout(panel.timer); await loadDeliveries(id); return; }
  if (action === 'older') { await openPanel(id, button.dataset.cursor); return; }
  if (action === 'newest') { await openPanel(id, null); return; }
  if (action !== 'redeliver') return;
  const row = button.closest('tr');
  const deliveryId = row.dataset.id;
  button.disabled = true;
  try {
    await apiJson(`/webhooks/${id}/deliveries/${deliveryId}/redeliver`, { method: 'POST' });
    const attempts = Number(row.dataset.attempts);
    panel.watch = { deliveryId, attempts, rounds: 20 };
    message(id, `Delivery ${deliveryId} is being sent again (same webhook-id and body).`, 'ok');
    clearTimeout(panel.timer);
    await loadDeliveries(id);
  } catch (error) {
    message(id, `Not redelivered: ${problemText(error)}`, 'error');
    button.disabled = false;
    if (error instanceof ApiError && error.problem?.code === 'webhook-disabled') await loadList();
  }
}

export function wireWebhooks(options) {
  announce = options?.announce ?? announce;
  document.getElementById('webhook-form').addEventListener('submit', create);
  document.getElementById('webhook-all').addEventListener('change', syncEventBoxes);
  syncEventBoxes();
  document.getElementById('subscriptions').addEventListener('click', event => {
    const button = event.target.closest('button[data-action]');
    if (!button || credential()?.kind !== 'key') return;
    const li = button.closest('li.subscription');
    if (!li) return;
    const action = button.dataset.action;
    if (['refresh', 'older', 'newest', 'redeliver'].includes(action)) panelAction(li, action, button);
    else act(li, action, button);
  });
  document.getElementById('secret-copy').addEventListener('click', async () => {
    const input = document.getElementById('secret-value');
    const note = document.getElementById('secret-message');
    try {
      await navigator.clipboard.writeText(input.value);
      note.textContent = 'Copied to the clipboard.';
      note.className = 'ok';
    } catch {
      // No clipboard access (an insecure origin, or refused): the text is selected for a manual copy.
      input.focus();
      input.select();
      note.textContent = 'The browser did not allow copying: the secret is selected, press Ctrl+C (or ⌘C).';
      note.className = '';
    }
  });
  document.getElementById('secret-value').addEventListener('focus', event => event.target.select());
  document.getElementById('secret-done').addEventListener('click', () => {
    const id = document.getElementById('secret-box').dataset.id;
    hideSecret();
    (itemOf(id)?.querySelector('[data-action="deliveries"]') ?? document.getElementById('webhook-url')).focus();
  });
}

/** Leaving the view: the secret leaves the page, the panels stop reading. */
export function leaveWebhooks() {
  generation++;
  hideSecret();
  for (const panel of panels.values()) clearTimeout(panel.timer);
  panels.clear();
}

