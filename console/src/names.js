// Project names for lists whose API answers only a project id (allocations, credit demands):
// the cell shows the name at once if known, else fills in when the registry answers; each id
// is asked once, a few at a time.

import * as api from './api.js';
import { h } from './dom.js';

const cache = new Map();
const queue = [];
let running = 0;

export function remember(projects) {
  for (const p of projects) cache.set(p.id, p.name);
}

export function projectName(id) {
  const span = h('span', { 'data-name-of': id }, cache.get(id) || '…');
  if (!cache.has(id) && !queue.includes(id)) {
    queue.push(id);
    pump();
  }
  return span;
}

function pump() {
  while (running < 6 && queue.length) {
    const id = queue.shift();
    running += 1;
    api.get(`/registry/v1/projects/${id}`)
      .then((p) => cache.set(id, p.name), () => cache.set(id, id))
      .finally(() => {
        running -= 1;
        for (const el of document.querySelectorAll(`[data-name-of="${id}"]`)) {
          el.textContent = cache.get(id);
        }
        pump();
      });
  }
}
