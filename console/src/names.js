// Project names for lists whose API answers only a project id (allocations, credit demands):
// read from the registry once each, a few at a time, and remembered.

import * as api from './api.js';

const cache = new Map();

export function remember(projects) {
  for (const p of projects) cache.set(p.id, p.name);
}

export async function withProjectNames(items) {
  const missing = [...new Set(items.map((i) => i.project_id))].filter((id) => id && !cache.has(id));
  const queue = [...missing];
  const worker = async () => {
    while (queue.length) {
      const id = queue.shift();
      try {
        cache.set(id, (await api.get(`/registry/v1/projects/${id}`)).name);
      } catch {
        cache.set(id, id);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(6, queue.length) }, worker));
  return items.map((i) => ({ ...i, project_name: cache.get(i.project_id) || i.project_id }));
}
