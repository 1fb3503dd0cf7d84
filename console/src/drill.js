// The drawer: the list behind a figure, a division's projects, one project in full.
// Views stack, so a project opened from a list goes back to that list.

import * as api from './api.js';
import { fill, h, table } from './dom.js';
import { date, num, pct, wan } from './format.js';
import { ACTION_LABELS, COLOUR_LABELS, STATUS_LABELS } from './labels.js';
import * as lists from './lists.js';
import { remember } from './names.js';
import { regionName } from './regions.js';

let ctx = null;
const stack = [];
const drawer = () => document.querySelector('[data-testid=drawer]');

export function setContext(context) {
  ctx = context;
}

export function initDrawer() {
  const el = drawer();
  el.querySelector('[data-testid=drawer-close]').addEventListener('click', closeDrawer);
  el.querySelector('.back').addEventListener('click', () => {
    stack.pop();
    show(stack.at(-1));
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') closeDrawer();
  });
}

export function closeDrawer() {
  stack.length = 0;
  drawer().hidden = true;
}

function push(view) {
  if (drawer().hidden) stack.length = 0;
  stack.push(view);
  show(view);
}

function show(view) {
  const el = drawer();
  el.hidden = false;
  el.querySelector('[data-testid=drawer-title]').textContent = view.title;
  el.querySelector('.back').hidden = stack.length < 2;
  const body = fill(el.querySelector('.drawer-body'), h('p', { class: 'muted' }, '加载中…'));
  view.render(body).catch((err) => {
    if (err.status !== 401) fill(body, h('p', { class: 'error' }, `加载失败：${err.message}`));
  });
}

/** A paged list: rows tr[data-row], then a button for the next page. */
async function renderList(spec, container) {
  const rows = [];
  let total = 0;
  const tbodyHolder = h('div', { class: 'list-holder' });
  const more = h('button', { type: 'button', class: 'more' }, '加载更多');
  const count = h('p', { class: 'list-count' });
  const draw = () => {
    fill(tbodyHolder, table(spec.columns, rows,
      (row) => ({ 'data-row': '', ...spec.rowAttrs(row) }), { 'data-testid': 'list', class: 'list' }));
    count.textContent = `共 ${num(total)} 项，已显示 ${num(rows.length)} 项`;
    more.hidden = rows.length >= total;
  };
  const next = async () => {
    more.disabled = true;
    const page = await spec.load(rows.length);
    rows.push(...page.items);
    total = page.total;
    if (rows.length && rows[0].stage_label !== undefined) remember(page.items);
    more.disabled = false;
    draw();
  };
  more.addEventListener('click', () => next().catch(() => {}));
  await next();
  fill(container, count, tbodyHolder, more);
}

export function openList(spec) {
  stack.length = 0;
  push({ title: spec.title, render: (body) => renderList(spec, body) });
}

export function openDivision(code) {
  const name = regionName(code);
  stack.length = 0;
  push({ title: `${name} · 项目推进`, render: (body) => renderDivision(code, body) });
}

async function renderDivision(code, body) {
  const card = ctx.scores?.cards?.find((c) => c.county === code);
  const section = h('section', { 'data-testid': 'division', 'data-county': code });
  const listBox = h('div');
  let current = null;
  const tabs = [
    ['全部项目', {}], ['重点项目', { key: true }], ['开工', { stage: 'started' }],
    ['谋划储备', { stage: 'reserve' }], ['竣工', { stage: 'completed' }],
  ].map(([label, params]) => {
    const btn = h('button', { type: 'button', class: 'tab' }, label);
    btn.addEventListener('click', () => choose(btn, params));
    return btn;
  });
  const choose = (btn, params) => {
    current = btn;
    tabs.forEach((t) => t.classList.toggle('active', t === current));
    return renderList(lists.projects('', { county: code, ...params }), listBox);
  };
  fill(body, section);
  section.append(
    card ? h('p', { class: 'division-card' },
      `综合得分 ${card.total}，第 ${card.rank} 名${card.tier ? `（${card.tier}）` : ''}；`,
      `开工率 ${pct(card.figures.start_rate)}，序时进度完成率 ${pct(card.figures.schedule_rate)}，`,
      `问题办结率 ${pct(card.figures.resolution_rate)}，超期问题 ${card.figures.problems_overdue} 个`)
      : null,
    h('div', { class: 'tabs' }, tabs),
    listBox);
  await choose(tabs[0], {});
}

export function openProject(id) {
  push({ title: '项目详情', render: (body) => renderProject(id, body) });
}

async function renderProject(id, body) {
  const year = ctx.period.year;
  const [project, progress, problems, allocs] = await Promise.all([
    api.get(`/registry/v1/projects/${id}`),
    api.get(`/registry/v1/projects/${id}/progress`, { year, as_of: ctx.periodKey }),
    api.get('/issues/v1/issues', { project_id: id, limit: 100 }),
    api.get('/factors/v1/allocations', { project_id: id, limit: 100 }),
  ]);
  const details = await Promise.all(problems.items.map((i) => api.get(`/issues/v1/issues/${i.id}`)));
  drawer().querySelector('[data-testid=drawer-title]').textContent = project.name;
  fill(body, h('section', { 'data-testid': 'project', 'data-project': id },
    projectHead(project),
    h('h3', {}, `${year}年度计划与完成`),
    planBlock(progress),
    h('h3', {}, '月度调度'),
    reportsBlock(progress),
    h('h3', {}, `问题（${details.length}）`),
    problemsBlock(details),
    h('h3', {}, `要素保障（${allocs.total}）`),
    allocationsBlock(allocs.items.map((a) => ({ ...a, project_name: project.name })))));
  remember([project]);
}

function projectHead(p) {
  const rows = [
    ['县区', p.county_name], ['级别', p.level_label || '非重点'], ['阶段', p.stage_label],
    ['总投资', wan(p.total_investment)], ['计划开工', date(p.planned_start)],
    ['实际开工', date(p.actual_start)], ['计划竣工', date(p.planned_completion)],
    ['帮包领导', p.leader || '—'], ['责任单位', p.responsible_unit || '—'],
    ['项目单位', p.owner || '—'], ['项目代码', p.code || '—'],
  ];
  return h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function planBlock(g) {
  return h('div', { 'data-testid': 'project-plan', class: 'plan' },
    g.annual_plan === null
      ? h('p', { class: 'muted' }, '本年度未下达投资计划')
      : h('dl', { class: 'facts' },
        h('dt', {}, '年度计划'), h('dd', {}, wan(g.annual_plan)),
        h('dt', {}, '计划至今'), h('dd', {}, wan(g.target_to_date)),
        h('dt', {}, '累计完成'), h('dd', {}, wan(g.ytd_actual)),
        h('dt', {}, '完成率'), h('dd', {}, pct(g.completion_rate)),
        h('dt', {}, '序时进度'), h('dd', {}, pct(g.time_elapsed)),
        h('dt', {}, '偏差'), h('dd', { class: Number(g.lag_points) < 0 ? 'bad' : 'good' },
          g.lag_points === null ? '—' : `${g.lag_points} 个百分点`)));
}

function reportsBlock(g) {
  return h('div', { 'data-testid': 'project-reports' },
    g.reports.length === 0 ? h('p', { class: 'muted' }, '暂无月度调度') : table([
      { title: '月份', cell: (r) => r.period },
      { title: '当月完成', cell: (r) => wan(r.month_investment), class: 'num' },
      { title: '累计完成', cell: (r) => wan(r.ytd_investment), class: 'num' },
      { title: '进展', cell: (r) => r.progress_note || '', class: 'name' },
    ], [...g.reports].reverse(), (r) => ({ 'data-row': '', 'data-period': r.period })));
}

function problemsBlock(items) {
  return h('div', { 'data-testid': 'project-problems' },
    items.length === 0 ? h('p', { class: 'muted' }, '无问题') : items.map((i) =>
      h('article', { class: 'problem', 'data-issue': i.id, 'data-colour': i.colour || undefined },
        h('h4', {}, i.colour ? h('span', { class: `tag tag-${i.colour}` }, COLOUR_LABELS[i.colour]) : null,
          ` ${i.title}`, h('small', {}, ` ${i.category_label} · ${i.status_label} · ${i.unit || '待交办'}`)),
        h('ol', { class: 'history' }, i.history.map((e) =>
          h('li', {}, h('time', {}, date(e.at)), ` ${ACTION_LABELS[e.action] || e.action} `,
            e.to_status ? `→ ${STATUS_LABELS[e.to_status] || e.to_status}` : '', e.deadline ? `（时限 ${e.deadline}）` : '',
            e.note ? ` ${e.note}` : '', h('small', {}, ` ${e.actor}`)))))));
}

function allocationsBlock(items) {
  return h('div', { 'data-testid': 'project-allocations' },
    items.length === 0 ? h('p', { class: 'muted' }, '未配置要素') : table(lists.ALLOCATION_COLUMNS,
      items, (a) => ({ 'data-row': '', 'data-allocation': a.id, 'data-county': a.county })));
}
