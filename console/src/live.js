// The live stream (notifications GET /v1/stream, server-sent events named by CloudEvent type):
// each event goes to the ticker, newest first, and tells the board which panels to refresh.

import * as api from './api.js';
import { h } from './dom.js';
import { time } from './format.js';
import { EVENT_LABELS } from './labels.js';
import { regionName } from './regions.js';

const KEEP = 60;
let source = null;

export function start(onEvent) {
  stop();
  source = new EventSource(api.streamUrl('/notifications/v1/stream'));
  const dot = document.getElementById('live-dot');
  source.onopen = () => dot.classList.add('on');
  source.onerror = () => dot.classList.remove('on');
  for (const type of Object.keys(EVENT_LABELS)) {
    source.addEventListener(type, (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      show(type, event);
      onEvent(type, event);
    });
  }
}

export function stop() {
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
