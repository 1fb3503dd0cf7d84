// A figure on the screen: a button carrying data-figure / data-value that opens its list.

import { h } from './dom.js';
import { openList } from './drill.js';

export function figure({ key, value, text, label, sub, list, tone }) {
  const attrs = {
    type: 'button',
    class: `figure${tone ? ` tone-${tone}` : ''}`,
    dataset: { figure: key, value: value === null || value === undefined ? '' : String(value) },
    title: list ? `查看${label || ''}清单` : undefined,
    onclick: list ? () => openList(list()) : undefined,
  };
  return h('button', attrs,
    label ? h('span', { class: 'figure-label' }, label) : null,
    h('span', { class: 'figure-value' }, text),
    sub ? h('span', { class: 'figure-sub' }, sub) : null);
}

/** A small inline figure (a number inside a sentence or a table cell). */
export function inlineFigure({ key, value, text, list }) {
  return h('button', {
    type: 'button',
    class: 'figure-inline',
    dataset: { figure: key, value: value === null || value === undefined ? '' : String(value) },
    onclick: list ? () => openList(list()) : undefined,
  }, text);
}
