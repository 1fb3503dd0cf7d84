// 月度考核: one division's card, every indicator's raw value and points (scoring scorecards).

import { fill, h } from '../dom.js';
import { num } from '../format.js';

const body = () => document.querySelector('#panel-scorecard .body');
const chooser = () => document.querySelector('#scorecard-division');

export function render(ctx) {
  const { cards } = ctx.scores;
  const select = chooser();
  if (!cards.length) {
    select.hidden = true;
    fill(body(), h('p', { class: 'muted' }, '考核明细仅对市指挥部和县区开放'));
    return;
  }
  const previous = select.value;
  fill(select, cards.map((c) => h('option', { value: c.county }, `${c.rank}. ${c.name}`)));
  select.hidden = cards.length < 2;
  select.value = cards.some((c) => c.county === previous) ? previous : cards[0].county;
  select.onchange = () => draw(cards.find((c) => c.county === select.value));
  draw(cards.find((c) => c.county === select.value));
}

function value(indicator) {
  if (indicator.value === null || indicator.value === undefined) return '—';
  return indicator.metric.endsWith('_rate') ? `${indicator.value}%` : num(indicator.value);
}

function draw(card) {
  fill(body(), h('table', { 'data-testid': 'scorecard', 'data-county': card.county, class: 'card-table' },
    h('thead', {}, h('tr', {}, h('th', {}, '指标'), h('th', {}, '完成值'), h('th', {}, '得分'))),
    h('tbody', {}, card.indicators.map((i) => h('tr', {
      'data-indicator': i.key, 'data-points': i.points,
      class: Number(i.points) < 0 ? 'deduction' : '',
    },
    h('td', { class: 'name' }, i.name),
    h('td', { class: 'num' }, value(i), i.rank ? h('small', {}, ` 第${i.rank}`) : null),
    h('td', { class: 'num points' }, i.points)))),
    h('tfoot', {}, h('tr', { 'data-total': card.total },
      h('td', {}, `${card.name} 合计`),
      h('td', { class: 'num' }, `第 ${card.rank} 名${card.tier ? ` · ${card.tier}` : ''}`),
      h('td', { class: 'num points' }, card.total)))));
}
