// The live stream (notifications GET /v1/stream, server-sent events named by CloudEvent type):
// each event goes to the ticker, newest first, and tells the board which panels to refresh.

import * as api from './api.js';
import { h } from './dom.js';
import { time } from './format.js';
import { EVENT_LABELS } from './labels.js';
import { regionName } from './regions.js';

const KEEP = 60;
const RETRY_MS = 2000;
const RETRY_MAX_MS = 60000;
let source = null;
let handlers = null;
let lastId = null;
let retries = 0;
let retryTimer = null;

/** Follow the stream: `onEvent(type, event)` for each event, `onResync()` after a gap. */
export function start(onEvent, onResync = () => {}) {
  stop();
  handlers = { onEvent, onResync };
  lastId = null;
  retries = 0;
  open();
}

function open() {
  // `after`: a stream opened again resumes after the last event seen (docs/notifications.md)
  const es = new EventSource(api.streamUrl('/notifications/v1/stream', { after: lastId }));
  source = es;
  const dot = document.getElementById('live-dot');
  es.onopen = () => {
    dot.classList.add('on');
    if (retries > 0) handlers.onResync();
    retries = 0;
  };
  es.onerror = () => {
    dot.classList.remove('on');
    // A dropped connection the browser retries by itself (CONNECTING); an answer that is not a
    // stream (a 502 of the gateway while the service restarts, a 401 once the token has
    // expired) ends it for good (CLOSED): then we open it again, later and later.
    if (es !== source || es.readyState !== EventSource.CLOSED) return;
    es.close();
    source = null;
    const wait = Math.min(RETRY_MS * 2 ** retries, RETRY_MAX_MS);
    retries += 1;
    retryTimer = setTimeout(reopen, wait);
  };
  for (const type of Object.keys(EVENT_LABELS)) {
    es.addEventListener(type, (message) => {
      if (message.lastEventId) lastId = message.lastEventId;
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      show(type, event);
      handlers.onEvent(type, event);
    });
  }
}

async function reopen() {
  retryTimer = null;
  if (!handlers) return;
  try {
    // an API call first: a 401 there returns to the login screen (api.js), which stops us
    await api.get('/registry/v1/regions');
  } catch (err) {
    if (err.status === 401 || !handlers) return;
  }
  if (handlers && !source) open();
}

export function stop() {
  clearTimeout(retryTimer);
  retryTimer = null;
  handlers = null;
  source?.close();
  source = null;
  document.getElementById('live-dot')?.classList.remove('on');
}

function show(type, event) {
  const data = event.data || {};
  const what = data.title || data.name || data.project_name || '';
  const county = event.county || data.county;
  const ticker = document.querySelector('[data-testid=ticker]');
  ticker.prepend(h('li', { 'data-type': type, 'data-id': event.id, class: 'fresh' },
    h('time', {}, time(event.time)),
    h('b', {}, EVENT_LABELS[type] || type),
    county ? h('span', { class: 'county' }, regionName(county)) : null,
    what ? h('span', { class: 'what' }, what) : null,
    data.unit ? h('span', { class: 'unit' }, data.unit) : null));
  while (ticker.children.length > KEEP) ticker.lastElementChild.remove();
}

/** Which panels an event moves. */
export function affected(type) {
  if (type.startsWith('kuaiche.project.')) return ['glance', 'scores', 'exposure'];
  if (type.startsWith('kuaiche.issue.')) return ['figures', 'problems', 'scores', 'exposure'];
  if (/^kuaiche\.(factor|quota|credit|replacement_source)\./.test(type)) return ['factors', 'scores'];
  if (type === 'kuaiche.ranking.published.v1') return ['publications', 'scores'];
  return [];
}
