// 县区作战图: a schematic tile map of the divisions (ECharts custom series), laid out roughly
// as Binzhou lies (north at the top), coloured by the score or the indicator chosen, with rank.
// The region table carries no boundaries; a division not in LAYOUT goes to a plain grid below.

import * as echarts from 'echarts';
import { allDivisions } from './regions.js';
import { openDivision } from './drill.js';
import { MAP_INDICATORS } from './labels.js';
import { num } from './format.js';

const LAYOUT = {
  371623: [0, 0], 371693: [1, 0], // 无棣县, 北海经济开发区 on the coast
  371622: [0, 1], 371603: [1, 1], // 阳信县, 沾化区
  371621: [0, 2], 371602: [1, 2], 371692: [2, 2], // 惠民县, 滨城区, 高新区
  371691: [1, 3], 371625: [2, 3], // 经济技术开发区, 博兴县
  371681: [1, 4], // 邹平市
};
const STOPS = ['#c0392b', '#e67e22', '#f1c40f', '#27ae60'];
const NO_DATA = '#26334d';

let chart = null;
let current = null;

export function init(onIndicator) {
  const select = document.querySelector('[data-testid=map-indicator]');
  for (const ind of MAP_INDICATORS) select.append(new Option(ind.label, ind.key));
  select.addEventListener('change', () => {
    if (current) render(current);
    onIndicator?.(select.value);
  });
  window.addEventListener('resize', () => chart?.resize());
}

function positions(divisions) {
  const cols = 3;
  let spare = 0;
  return divisions.map((d) => {
    if (LAYOUT[d.code]) return LAYOUT[d.code];
    const at = [spare % cols, 5 + Math.floor(spare / cols)];
    spare += 1;
    return at;
  });
}

function valueOf(card, key) {
  if (!card) return null;
  const raw = key === 'score' ? card.total : card.figures[key];
  return raw === null || raw === undefined ? null : Number(raw);
}

function ranks(values, better) {
  const known = values.filter((v) => v !== null);
  return values.map((v) => {
    if (v === null) return null;
    return 1 + known.filter((o) => (better === 'low' ? o < v : o > v)).length;
  });
}

function colour(v, min, max, better) {
  if (v === null) return NO_DATA;
  let t = max === min ? 1 : (v - min) / (max - min);
  if (better === 'low') t = 1 - t;
  const scaled = t * (STOPS.length - 1);
  const i = Math.min(Math.floor(scaled), STOPS.length - 2);
  return echarts.color.lerp(scaled - i, [STOPS[i], STOPS[i + 1]]);
}

export function render(ctx) {
  current = ctx;
  const el = document.querySelector('[data-testid=map]');
  const key = document.querySelector('[data-testid=map-indicator]').value || 'score';
  const indicator = MAP_INDICATORS.find((i) => i.key === key);
  const divisions = allDivisions();
  const cards = new Map(ctx.scores.cards.map((c) => [c.county, c]));
  const values = divisions.map((d) => valueOf(cards.get(d.code), key));
  // a county sees its own card only: its rank among all is the card's, on the score alone
  let rankOf = key === 'score'
    ? divisions.map((d) => cards.get(d.code)?.rank ?? null)
    : ranks(values, indicator.better);
  if (!ctx.seesAll && key !== 'score') rankOf = rankOf.map(() => null);
  const known = values.filter((v) => v !== null);
  const [min, max] = [Math.min(...known), Math.max(...known)];
  const items = divisions.map((d, i) => ({
    code: d.code, name: d.name, at: positions(divisions)[i], value: values[i], rank: rankOf[i],
    colour: colour(values[i], min, max, indicator.better),
    own: d.code === ctx.county,
  }));
  el.dataset.indicator = key;
  chart = chart || echarts.init(el, null, { renderer: 'canvas' });
  chart.setOption(option(items, indicator, ctx), true);
  chart.off('click');
  chart.on('click', (p) => {
    const item = items[p.dataIndex];
    if (item && (ctx.seesAll || item.own)) openDivision(item.code);
  });
}

function option(items, indicator, ctx) {
  const cols = Math.max(...items.map((i) => i.at[0])) + 1;
  const rows = Math.max(...items.map((i) => i.at[1])) + 1;
  const unit = indicator.unit || '';
  return {
    animation: false,
    grid: { left: 8, right: 8, top: 8, bottom: 8 },
    xAxis: { type: 'value', min: 0, max: cols, show: false },
    yAxis: { type: 'value', min: 0, max: rows, inverse: true, show: false },
    tooltip: {
      formatter: (p) => {
        const i = items[p.dataIndex];
        return i.value === null ? i.name
          : `${i.name}<br>${indicator.label}：${num(i.value, 2)}${unit}${i.rank ? `<br>第 ${i.rank} 名` : ''}`;
      },
    },
    series: [{
      type: 'custom',
      data: items.map((i) => [i.at[0], i.at[1]]),
      renderItem: (params, api) => {
        const i = items[params.dataIndex];
        const [x0, y0] = api.coord([i.at[0], i.at[1]]);
        const [x1, y1] = api.coord([i.at[0] + 1, i.at[1] + 1]);
        const w = x1 - x0 - 8;
        const hgt = y1 - y0 - 8;
        const big = Math.max(12, Math.min(22, hgt / 4.2));
        const lines = [i.name];
        if (i.value !== null) lines.push(`${num(i.value, 2)}${unit}`);
        if (i.rank !== null) lines.push(`第 ${i.rank} 名`);
        return {
          type: 'group',
          children: [
            {
              type: 'rect',
              shape: { x: x0 + 4, y: y0 + 4, width: w, height: hgt, r: 8 },
              style: {
                fill: i.colour,
                stroke: i.own && ctx.county ? '#ffffff' : 'rgba(255,255,255,0.15)',
                lineWidth: i.own && ctx.county ? 4 : 1,
              },
            },
            {
              type: 'text',
              style: {
                x: x0 + 4 + w / 2, y: y0 + 4 + hgt / 2, text: lines.join('\n'),
                align: 'center', verticalAlign: 'middle', fill: '#fff', font: `bold ${big}px sans-serif`,
                lineHeight: big * 1.3, textShadowColor: 'rgba(0,0,0,0.6)', textShadowBlur: 3,
              },
              silent: true,
            },
          ],
        };
      },
    }],
  };
}
