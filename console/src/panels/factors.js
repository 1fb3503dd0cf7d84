// 要素保障: each pool's utilisation and advance 预支 against its cap (factors GET /v1/pools),
// allocations by county (GET /v1/factors/summary) and credit demand against grants
// (GET /v1/credit/summary). A county's summaries hold its own county only.

import * as echarts from 'echarts';
import * as api from '../api.js';
import { fill, h } from '../dom.js';
import { UNIT_LABELS, compact, num, yi } from '../format.js';
import { figure } from '../figure.js';
import * as lists from '../lists.js';
import { FACTOR_LABELS, POLLUTANT_LABELS } from '../labels.js';
import { shortName } from '../regions.js';

const body = () => document.querySelector('#panel-factors .body');
let chart = null;
window.addEventListener('resize', () => chart?.resize());

export async function load(ctx) {
  const year = ctx.period.year;
  const [pools, summary, credit] = await Promise.all([
    api.get('/factors/v1/pools', { limit: 100 }),
    api.get('/factors/v1/factors/summary', { year }),
    api.get('/factors/v1/credit/summary', { year }),
  ]);
  if (year !== ctx.period.year) return; // another period was chosen meanwhile
  const shown = pools.items
    .filter((p) => p.year === year || Number(p.advance) > 0 || p.year === year - 1)
    .sort((a, b) => b.year - a.year || a.scope.localeCompare(b.scope)
      || a.factor.localeCompare(b.factor) || String(a.pollutant).localeCompare(String(b.pollutant)));
  const chartBox = h('div', { class: 'factor-chart' });
  fill(body(),
    h('table', { class: 'pools' }, h('tbody', {}, shown.map((p) => poolRow(p)))),
    creditRow(credit, year),
    h('h3', {}, `${year}年要素配置（宗）· 按县区`),
    chartBox);
  drawCounties(chartBox, summary);
}

function poolName(p) {
  const factor = FACTOR_LABELS[p.factor] || p.factor_label;
  const what = p.pollutant ? `${factor}·${POLLUTANT_LABELS[p.pollutant] || p.pollutant}` : factor;
  return `${p.year}${p.scope_label}${what}`;
}

function poolRow(p) {
  const util = Number(p.utilisation || 0);
  const cap = p.advance_share ? (Number(p.amount) * Number(p.advance_share)) / 100 : null;
  const advanced = Number(p.advance) > 0;
  return h('tr', { 'data-pool': p.id },
    h('td', { class: 'name', title: p.name || poolName(p) }, poolName(p)),
    h('td', { class: 'util' },
      h('span', { class: 'meter' }, h('span', {
        class: util >= 90 ? 'fill hot' : 'fill', style: { width: `${Math.min(util, 100)}%` },
      })),
      figure({
        key: `pool-${p.id}-utilisation`, value: p.utilisation, text: `${p.utilisation}%`,
        list: () => lists.allocations(`${p.name || poolName(p)} · 配置明细`, { pool_id: p.id }),
      })),
    h('td', { class: 'num', title: `${num(p.allocated)} / ${num(p.amount)} ${UNIT_LABELS[p.unit]}` },
      `${compact(p.allocated)}/${compact(p.amount)}${UNIT_LABELS[p.unit]}`),
    h('td', { class: advanced ? 'advance on' : 'advance' },
      figure({
        key: `pool-${p.id}-advance`, value: p.advance, text: `预支 ${compact(p.advance)}`,
        tone: advanced ? 'warn' : null,
        list: () => lists.allocations(`${p.name || poolName(p)} · 预支明细`,
          { pool_id: p.id, advance: true }),
      }),
      cap !== null ? h('small', {}, `/${compact(cap)}`) : null));
}

function creditRow(c, year) {
  const list = () => lists.creditDemands(`${year}年融资需求与授信`, year);
  return h('div', { class: 'figures credit' },
    figure({ key: 'credit-projects', value: c.projects, text: `${c.projects} 个`, label: '融资项目', list }),
    figure({ key: 'credit-demanded', value: c.demanded, text: yi(c.demanded, 1), label: '融资需求', list }),
    figure({ key: 'credit-granted', value: c.granted, text: yi(c.granted, 1), label: '银行授信', list }),
    figure({ key: 'credit-disbursed', value: c.disbursed, text: yi(c.disbursed, 1), label: '已放款', list }));
}

function drawCounties(el, summary) {
  const counties = [...new Set(summary.factors.flatMap((f) => f.counties.map((c) => c.county)))].sort();
  const byFactor = new Map();
  for (const f of summary.factors) {
    const counts = byFactor.get(f.factor_label) || new Map();
    for (const c of f.counties) counts.set(c.county, (counts.get(c.county) || 0) + c.allocations);
    byFactor.set(f.factor_label, counts);
  }
  chart?.dispose();
  chart = echarts.init(el);
  chart.setOption({
    animation: false,
    textStyle: { color: '#c8d6f0' },
    legend: { top: 0, textStyle: { color: '#c8d6f0' }, itemWidth: 12, itemHeight: 8 },
    grid: { left: 4, right: 8, top: 24, bottom: 4, containLabel: true },
    tooltip: { trigger: 'axis' },
    xAxis: {
      type: 'category', data: counties.map(shortName),
      axisLabel: { color: '#c8d6f0', interval: 0, fontSize: 11 },
    },
    yAxis: { type: 'value', axisLabel: { color: '#8da2c8' }, splitLine: { lineStyle: { color: '#22304d' } } },
    series: [...byFactor.entries()].map(([label, counts]) => ({
      name: label, type: 'bar', stack: 'n', data: counties.map((c) => counts.get(c) || 0),
    })),
  });
}
