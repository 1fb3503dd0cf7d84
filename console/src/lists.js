// The lists behind the figures: what each asks of which API, and its columns.

import * as api from './api.js';
import { h } from './dom.js';
import { amount, date, wan } from './format.js';
import { COLOUR_LABELS, EXPOSURE_KINDS, FACTOR_LABELS, POLLUTANT_LABELS } from './labels.js';
import { openProject } from './drill.js';
import { regionName } from './regions.js';
import { projectName } from './names.js';

const PAGE = 100;

function paged(path, params) {
  return (offset) => api.get(path, { ...params, limit: PAGE, offset });
}

function colourTag(colour) {
  return colour ? h('span', { class: `tag tag-${colour}` }, COLOUR_LABELS[colour] || colour) : '';
}

function projectRow(id, county) {
  const attrs = { 'data-county': county || undefined };
  return id ? { ...attrs, 'data-project': id, class: 'clickable', onclick: () => openProject(id) } : attrs;
}

export const PROJECT_COLUMNS = [
  { title: '项目名称', cell: (p) => p.name, class: 'name' },
  { title: '县区', cell: (p) => p.county_name },
  { title: '级别', cell: (p) => p.level_label || '—' },
  { title: '阶段', cell: (p) => p.stage_label },
  { title: '总投资', cell: (p) => wan(p.total_investment), class: 'num' },
  { title: '计划开工', cell: (p) => date(p.planned_start) },
];

/** Every page of a list, kept to what `keep` accepts (a filter the API does not have). */
function filtered(path, params, keep) {
  return async (offset) => {
    if (offset > 0) return { items: [], total: 0 };
    const items = [];
    for (let at = 0; ; at += 500) {
      const page = await api.get(path, { ...params, limit: 500, offset: at });
      items.push(...page.items.filter(keep));
      if (at + 500 >= page.total) break;
    }
    return { items, total: items.length };
  };
}

/** Projects of the registry (county-scoped by the API for a county token). */
export function projects(title, params = {}, keep = null) {
  return {
    title,
    columns: PROJECT_COLUMNS,
    load: keep ? filtered('/registry/v1/projects', params, keep) : paged('/registry/v1/projects', params),
    rowAttrs: (p) => projectRow(p.id, p.county),
  };
}

const ISSUE_COLUMNS = [
  { title: '', cell: (i) => colourTag(i.colour) },
  { title: '问题', cell: (i) => i.title, class: 'name' },
  { title: '项目', cell: (i) => i.project_name },
  { title: '类别', cell: (i) => i.category_label },
  { title: '责任单位', cell: (i) => i.unit || '待交办' },
  { title: '状态', cell: (i) => i.status_label },
  { title: '办理时限', cell: (i) => date(i.deadline) },
];

/** Problems from issues; `keep` filters a page client-side (on time among the resolved). */
export function issues(title, params = {}, keep = null) {
  const statuses = Array.isArray(params.status) ? params.status : [params.status];
  const load = async (offset) => {
    if (statuses.length === 1 && !keep) return paged('/issues/v1/issues', params)(offset);
    if (offset > 0) return { items: [], total: 0 };
    // several statuses or a client-side filter: every page of each, merged (hundreds at most)
    const items = [];
    for (const status of statuses) {
      items.push(...(await filtered('/issues/v1/issues', { ...params, status }, keep || (() => true))(0)).items);
    }
    return { items, total: items.length };
  };
  return {
    title,
    columns: ISSUE_COLUMNS,
    load,
    rowAttrs: (i) => ({ ...projectRow(i.project_id, i.county), 'data-colour': i.colour || undefined }),
  };
}

/** One exposure list 通报 of the period (optionally one colour). */
export function exposure(ctx, kind, colour) {
  const params = { kind, year: ctx.period.year, month: ctx.period.month, colour };
  return {
    title: `${EXPOSURE_KINDS[kind]}${colour ? `（${COLOUR_LABELS[colour]}）` : ''} · ${ctx.periodLabel}`,
    columns: [
      { title: '', cell: (e) => colourTag(e.colour) },
      { title: '县区', cell: (e) => e.county_name },
      { title: '项目', cell: (e) => e.project_name, class: 'name' },
      { title: '原因', cell: (e) => e.reason },
    ],
    load: paged('/scoring/v1/exposure', params),
    rowAttrs: (e) => ({ ...projectRow(e.project_id, e.county), 'data-colour': e.colour }),
  };
}

const ALLOCATION_STATUS = { active: '有效', used: '已使用', released: '已收回' };

export const ALLOCATION_COLUMNS = [
  { title: '要素', cell: (a) => FACTOR_LABELS[a.factor] + (a.pollutant ? `·${POLLUTANT_LABELS[a.pollutant] || a.pollutant}` : '') },
  { title: '项目', cell: (a) => a.project_name || projectName(a.project_id), class: 'name' },
  { title: '县区', cell: (a) => regionName(a.county) },
  { title: '数量', cell: (a) => amount(a.charged || a.amount, a.unit), class: 'num' },
  { title: '预支', cell: (a) => (a.advance ? '预支' : '') },
  { title: '状态', cell: (a) => ALLOCATION_STATUS[a.status] || a.status },
  { title: '配置日期', cell: (a) => date(a.allocated_on) },
];

export function allocations(title, params = {}) {
  return {
    title,
    columns: ALLOCATION_COLUMNS,
    load: paged('/factors/v1/allocations', params),
    rowAttrs: (a) => projectRow(a.project_id, a.county),
  };
}

export function creditDemands(title, year) {
  return {
    title,
    columns: [
      { title: '项目', cell: (d) => projectName(d.project_id), class: 'name' },
      { title: '县区', cell: (d) => regionName(d.county) },
      { title: '融资需求', cell: (d) => wan(d.amount), class: 'num' },
      { title: '已授信', cell: (d) => wan(d.granted), class: 'num' },
      { title: '已放款', cell: (d) => wan(d.disbursed), class: 'num' },
      { title: '授信银行', cell: (d) => d.grants.map((g) => g.bank).join('、') },
    ],
    load: paged('/factors/v1/credit-demands', { year }),
    rowAttrs: (d) => projectRow(d.project_id, d.county),
  };
}
