// 县区排名: every division by score with its rank and tier; a row opens the division.
// A county sees the ranking only once the month is published (the publication's).

import { fill, h } from '../dom.js';
import { openDivision } from '../drill.js';

const body = () => document.querySelector('#panel-ranking .body');

export function render(ctx) {
  const rows = ctx.scores.ranking;
  if (!rows) {
    fill(body(), h('p', { class: 'muted', 'data-testid': 'ranking-unpublished' },
      `${ctx.periodLabel}排名尚未通报`));
    return;
  }
  const top = Math.max(...rows.map((r) => Number(r.score)), 1);
  const mayOpen = (code) => ctx.seesAll || code === ctx.county;
  fill(body(), h('table', { 'data-testid': 'ranking', class: 'ranking-table' },
    h('thead', {}, h('tr', {}, h('th', {}, '名次'), h('th', {}, '县区'), h('th', {}, '得分'),
      h('th', {}, '等次'))),
    h('tbody', {}, rows.map((r) => h('tr', {
      'data-county': r.county,
      'data-score': r.score,
      'data-rank': r.rank,
      class: [mayOpen(r.county) ? 'clickable' : '', r.county === ctx.county ? 'own' : ''].join(' '),
      onclick: mayOpen(r.county) ? () => openDivision(r.county) : undefined,
    },
    h('td', { class: 'rank' }, h('span', { class: `rank-badge r${r.rank}` }, r.rank)),
    h('td', { class: 'name' }, r.name),
    h('td', { class: 'score' },
      h('span', { class: 'bar', style: { width: `${(Number(r.score) / top) * 100}%` } }),
      h('span', { class: 'score-text' }, r.score)),
    h('td', {}, r.tier || ''))))));
}
