// 问题清单: collected, resolved, on time and overdue this year to the period's end (scoring
// GET /v1/figures, the scorecards' own counts), by category and by unit (issues
// GET /v1/issues/stats over the same dates), and the red and blue lists (GET /v1/issues).

import * as echarts from 'echarts';
import * as api from '../api.js';
import { fill, h } from '../dom.js';
import { date, num, pct } from '../format.js';
import { figure, inlineFigure } from '../figure.js';
import * as lists from '../lists.js';
import { openList, openProject } from '../drill.js';
import { monthEnd } from '../period.js';

const body = () => document.querySelector('#panel-problems .body');
let chart = null;
window.addEventListener('resize', () => chart?.resize());

export async function load(ctx) {
  const from = `${ctx.period.year}-01-01`;
  const to = monthEnd(ctx.period);
  const [figures, stats, red, blue] = await Promise.all([
    ctx.figures,
    api.get('/issues/v1/issues/stats', { from, to }),
    api.get('/issues/v1/issues', { colour: 'red', limit: 100 }),
    api.get('/issues/v1/issues', { colour: 'blue', limit: 100 }),
  ]);
  if (to !== monthEnd(ctx.period)) return; // another period was chosen meanwhile
  const f = figures?.figures;
  const inYear = (i) => i.reported_on >= from && i.reported_on <= to;
  const resolved = (i) => inYear(i) && i.resolved_on && i.resolved_on <= to
    && ['resolved', 'closed'].includes(i.status);
  const flagged = (i) => i.overdue_flagged_at && date(i.overdue_flagged_at) >= from
    && date(i.overdue_flagged_at) <= to;
  const chartBox = h('div', { class: 'problem-chart' });
  fill(body(),
    h('div', { class: 'figures' },
      figure({
        key: 'problems_collected', value: f?.problems_collected ?? stats.collected,
        text: num(f?.problems_collected ?? stats.collected), label: '收集问题',
        list: () => lists.issues(`${ctx.periodLabel}前收集的问题`, {}, inYear),
      }),
      figure({
        key: 'problems_resolved', value: f?.problems_resolved ?? stats.resolved,
        text: num(f?.problems_resolved ?? stats.resolved), label: '已办结',
        sub: `办结率 ${pct(f?.resolution_rate ?? stats.resolution_rate)}`,
        list: () => lists.issues('已办结问题', { status: ['resolved', 'closed'] }, resolved),
      }),
      figure({
        key: 'problems_on_time', value: f?.problems_on_time ?? '', text: num(f?.problems_on_time),
        label: '按期办结', sub: `按期率 ${pct(f?.on_time_rate ?? stats.on_time_rate)}`,
        list: () => lists.issues('按期办结问题', { status: ['resolved', 'closed'] },
          (i) => resolved(i) && i.on_time),
      }),
      figure({
        key: 'problems_overdue', value: f?.problems_overdue ?? stats.overdue, tone: 'red',
        text: num(f?.problems_overdue ?? stats.overdue), label: f ? '年内超期' : '超期问题',
        list: () => (f ? lists.issues(`${ctx.periodLabel}前年内超期的问题`, {}, flagged)
          : lists.issues('当前超期问题', { overdue: true })),
      })),
    h('p', { class: 'figure-note' }, '当前超期 ', inlineFigure({
      key: 'problems_overdue_now', value: stats.overdue, text: num(stats.overdue),
      list: () => lists.issues('当前超期问题（红色督办）', { overdue: true }),
    }), ' 个（问题清单统计）'),
    h('div', { class: 'problem-grid' },
      chartBox,
      unitTable(stats.by_unit),
      colourList('issues-red', '红色督办（超期）', red),
      colourList('issues-blue', '蓝色提醒（临期）', blue)));
  drawCategories(chartBox, stats.by_category);
}

function unitTable(units) {
  const top = [...units].sort((a, b) => b.collected - a.collected).slice(0, 6);
  return h('table', { class: 'units' },
    h('thead', {}, h('tr', {}, h('th', {}, '责任单位'), h('th', {}, '收集'), h('th', {}, '办结率'),
      h('th', {}, '超期'))),
    h('tbody', {}, top.map((u) => h('tr', {
      class: 'clickable', onclick: () => openUnit(u.unit),
    }, h('td', { class: 'name' }, u.unit), h('td', { class: 'num' }, u.collected),
    h('td', { class: 'num' }, pct(u.resolution_rate)),
    h('td', { class: u.overdue ? 'num bad' : 'num' }, u.overdue)))));
}

function openUnit(unit) {
  openList(lists.issues(`${unit} · 问题`, { unit }));
}

function colourList(testid, title, page) {
  return h('div', { class: `colour-list ${testid}` },
    h('h3', {}, `${title} `, h('b', {}, page.total)),
    h('table', { 'data-testid': testid }, h('tbody', {}, page.items.map((i) => h('tr', {
      'data-row': '', 'data-colour': i.colour, 'data-issue': i.id, 'data-county': i.county,
      class: 'clickable',
      onclick: () => openProject(i.project_id),
    },
    h('td', { class: 'name', title: i.description }, i.title),
    h('td', {}, i.unit || '待交办'),
    h('td', { class: 'num' }, date(i.deadline)))))));
}

function drawCategories(el, categories) {
  chart?.dispose();
  chart = echarts.init(el);
  chart.setOption({
    animation: false,
    legend: { top: 0, textStyle: { color: '#c8d6f0' }, itemWidth: 12, itemHeight: 8 },
    grid: { left: 4, right: 8, top: 24, bottom: 4, containLabel: true },
    tooltip: { trigger: 'axis' },
    xAxis: {
      type: 'category', data: categories.map((c) => c.category_label),
      axisLabel: { color: '#c8d6f0', interval: 0, fontSize: 11, rotate: 30 },
    },
    yAxis: { type: 'value', axisLabel: { color: '#8da2c8' }, splitLine: { lineStyle: { color: '#22304d' } } },
    series: [
      { name: '收集', type: 'bar', data: categories.map((c) => c.collected), itemStyle: { color: '#4a90e2' } },
      { name: '办结', type: 'bar', data: categories.map((c) => c.resolved), itemStyle: { color: '#27ae60' } },
      { name: '超期', type: 'bar', data: categories.map((c) => c.overdue), itemStyle: { color: '#e74c3c' } },
    ],
  });
}
