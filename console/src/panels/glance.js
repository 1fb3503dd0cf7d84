// 全市总览: the library (registry GET /v1/projects/summary) and this month's figures
// (scoring GET /v1/figures): key list by level, start rate 开工率, 序时进度, completions.

import { fill, h } from '../dom.js';
import { num, pct, yi } from '../format.js';
import { figure } from '../figure.js';
import * as api from '../api.js';
import * as lists from '../lists.js';
import { monthEnd } from '../period.js';

const body = () => document.querySelector('#panel-glance .body');

export async function load(ctx) {
  const asked = ctx.periodKey;
  const [summary, figures] = await Promise.all([
    api.get('/registry/v1/projects/summary'), ctx.figures,
  ]);
  if (asked !== ctx.periodKey) return; // another period was chosen meanwhile
  render(ctx, summary, figures?.figures || null);
}

function render(ctx, s, f) {
  const scope = ctx.county ? ctx.countyName : '全市';
  const { year } = ctx.period;
  const end = monthEnd(ctx.period);
  const levels = s.by_level || [];
  document.querySelector('#panel-glance h2').textContent = ctx.county ? `${scope}总览` : '全市总览';
  fill(body(),
    h('div', { class: 'figures big' },
      figure({
        key: 'projects', value: s.projects, text: `${num(s.projects)} 个`, label: `${scope}项目库`,
        list: () => lists.projects(`${scope}项目库`),
      }),
      figure({
        key: 'total_investment', value: s.total_investment, text: yi(s.total_investment),
        label: '计划总投资', list: () => lists.projects(`${scope}项目库 · 总投资`),
      }),
      figure({
        key: 'key_projects', value: s.key_projects, text: `${num(s.key_projects)} 个`,
        label: '重点项目', list: () => lists.projects(`${scope}重点项目`, { key: true }),
      })),
    h('ul', { class: 'levels' }, levels.map((l) => h('li', {},
      figure({
        key: `level-${l.level}`, value: l.projects, label: l.label, text: `${num(l.projects)}`,
        sub: yi(l.total_investment, 1),
        list: () => lists.projects(`${l.label}项目`, { level: l.level }),
      })))),
    h('h3', {}, `${ctx.periodLabel} 推进情况`),
    h('div', { class: 'figures' },
      figure({
        key: 'start_rate', value: f?.start_rate ?? '', text: pct(f?.start_rate), label: '开工率',
        sub: f ? `已开工 ${f.started} / 计划 ${f.planned_starts}` : '无权查看',
        tone: rateTone(f?.start_rate),
        list: () => lists.projects(`${scope}今年计划开工项目中已开工的`, { track: 'implementation' },
          (p) => p.planned_start?.startsWith(`${year}-`) && p.actual_start && p.actual_start <= end),
      }),
      figure({
        key: 'schedule_rate', value: f?.schedule_rate ?? '', text: pct(f?.schedule_rate),
        label: '序时进度完成率', tone: rateTone(f?.schedule_rate),
        sub: f ? `完成 ${yi(f.ytd_investment, 1)} / 计划 ${yi(f.annual_plan, 1)}` : '无权查看',
        list: () => lists.exposure(ctx, 'lagging'),
      }),
      figure({
        key: 'completions', value: f?.completions ?? '', text: f ? `${num(f.completions)} 个` : '—',
        label: '年内竣工', sub: f ? `新开工 ${f.new_starts_ytd} 个（当月 ${f.new_starts}）` : '',
        list: () => lists.projects(`${scope}${year}年竣工项目`, { stage: 'completed' },
          (p) => p.actual_completion >= `${year}-01-01` && p.actual_completion <= end),
      })));
}

function rateTone(rate) {
  if (rate === null || rate === undefined) return null;
  const n = Number(rate);
  return n >= 90 ? 'good' : n >= 60 ? 'warn' : 'bad';
}
