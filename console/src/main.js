// The console's entry: login, the role's scope, the period, loading every panel, live updates.

import * as api from './api.js';
import * as auth from './auth.js';
import { debounce, fill, h } from './dom.js';
import { closeDrawer, initDrawer, setContext } from './drill.js';
import { download } from './export.js';
import * as live from './live.js';
import * as map from './map.js';
import * as period from './period.js';
import { ROLE_LABELS } from './labels.js';
import { regionName, setRegions } from './regions.js';
import * as scores from './scores.js';
import * as glance from './panels/glance.js';
import * as exposure from './panels/exposure.js';
import * as factors from './panels/factors.js';
import * as problems from './panels/problems.js';

const ctx = {};
const PANELS = { glance, scores, exposure, factors, problems };
let generation = 0;
let expiryTimer = null;

const $ = (selector) => document.querySelector(selector);
const setState = (state) => { document.body.dataset.state = state; };

function layout() {
  const wall = window.innerWidth >= 1920 && window.innerHeight >= 1080;
  document.body.classList.toggle('wall', wall);
  document.body.classList.toggle('laptop', !wall);
}

function showLogin(message = '') {
  clearTimeout(expiryTimer);
  live.stop();
  closeDrawer();
  auth.clearToken();
  $('#app').hidden = true;
  $('#login').hidden = false;
  $('[data-testid=login-error]').textContent = message;
  setState('login');
}

function banner(message) {
  const el = $('#banner');
  el.textContent = message;
  el.hidden = !message;
}

async function start(token) {
  const claims = auth.decodeClaims(token);
  if (!claims) return showLogin('令牌无效：无法读取角色');
  if (auth.isExpired(claims)) return showLogin('令牌已过期，请重新生成');
  watchExpiry(claims);
  api.configure(token.trim(), (message) => showLogin(message));
  Object.assign(ctx, {
    role: claims.role,
    county: claims.role === 'county' ? claims.county : null,
    department: claims.department || null,
    seesAll: claims.role === 'commander' || claims.role === 'viewer',
    seesScores: claims.role !== 'department',
  });
  setContext(ctx);
  $('#login').hidden = true;
  $('#app').hidden = false;
  setState('loading');
  banner('');
  try {
    setRegions(await api.get('/registry/v1/regions'));
    ctx.countyName = ctx.county ? regionName(ctx.county) : null;
    $('[data-testid=who]').textContent = [ROLE_LABELS[ctx.role], ctx.countyName, ctx.department]
      .filter(Boolean).join(' · ');
    const { initial, options } = period.choices(await publications());
    fill($('[data-testid=period]'), options.map((p) => h('option', { value: period.key(p) },
      period.key(p))));
    $('[data-testid=period]').value = period.key(initial);
    choose(initial);
    await loadAll();
    live.start(onLiveEvent, resync);
  } catch (err) {
    if (err.status === 401) return undefined;
    setState('error');
    banner(`加载失败：${err.message}`);
  }
  return undefined;
}

// A wall screen stays open for days: at the token's expiry it returns to the login screen
// (setTimeout holds at most 2^31-1 ms, about 24.8 days, so a longer wait is taken in steps).
function watchExpiry(claims) {
  clearTimeout(expiryTimer);
  if (typeof claims.exp !== 'number') return;
  const left = claims.exp * 1000 - Date.now();
  expiryTimer = setTimeout(() => {
    if (auth.isExpired(claims)) showLogin('令牌已过期，请重新生成');
    else watchExpiry(claims);
  }, Math.max(0, Math.min(left, 2 ** 31 - 1)));
}

async function publications() {
  ctx.publications = (await api.get('/scoring/v1/publications', { limit: 500 })).items;
  return ctx.publications;
}

function choose(p) {
  ctx.period = p;
  ctx.periodKey = period.key(p);
  ctx.periodLabel = period.label(p);
  ctx.publication = ctx.publications.find((x) => x.year === p.year && x.month === p.month) || null;
  $('#published').textContent = ctx.publication ? '已通报' : '实时（未通报）';
  $('#published').classList.toggle('on', Boolean(ctx.publication));
}

function loadFigures() {
  if (!ctx.seesScores) return Promise.resolve(null);
  return api.get('/scoring/v1/figures', { year: ctx.period.year, month: ctx.period.month });
}

async function loadAll() {
  const mine = ++generation;
  setState('loading');
  ctx.figures = loadFigures();
  ctx.figures.catch(() => {});
  const results = await Promise.allSettled(Object.values(PANELS).map((p) => p.load(ctx)));
  if (mine !== generation) return;
  const failed = results.find((r) => r.status === 'rejected');
  if (failed && failed.reason?.status === 401) return;
  if (failed) {
    setState('error');
    banner(`部分数据加载失败：${failed.reason?.message || failed.reason}`);
  } else {
    setState('ready');
    banner('');
  }
}

// Live: events mark panels; one refresh after a quiet moment reloads what they touched.
const pending = new Set();
const refresh = debounce(async () => {
  const names = new Set(pending);
  pending.clear();
  if (names.has('publications')) {
    await publications().catch(() => {});
    choose(ctx.period);
  }
  if (names.has('figures')) {
    ctx.figures = loadFigures();
    ctx.figures.catch(() => {});
    names.add('glance');
  }
  await Promise.allSettled([...names].filter((n) => PANELS[n]).map((n) => PANELS[n].load(ctx)));
}, 1500);

// After the stream was down a while (events may have been missed): reload every panel.
function resync() {
  for (const name of ['publications', 'figures', ...Object.keys(PANELS)]) pending.add(name);
  refresh();
}

function onLiveEvent(type) {
  for (const name of live.affected(type)) pending.add(name);
  if (pending.size) refresh();
}

function wire() {
  $('#login form').addEventListener('submit', (e) => {
    e.preventDefault();
    const value = $('textarea[name=token]').value.trim();
    if (!auth.decodeClaims(value)) {
      $('[data-testid=login-error]').textContent = '令牌无效：请粘贴 kuaiche token 生成的完整令牌';
      return;
    }
    auth.storeToken(value);
    $('textarea[name=token]').value = '';
    start(value);
  });
  $('[data-testid=logout]').addEventListener('click', () => showLogin());
  $('[data-testid=period]').addEventListener('change', (e) => {
    choose(period.parse(e.target.value));
    closeDrawer();
    loadAll();
  });
  $('[data-testid=export-ledger]').addEventListener('click', (e) => {
    download('/registry/v1/projects/export', {}, e.currentTarget).catch(() => {});
  });
  window.addEventListener('resize', debounce(layout, 100));
}

layout();
wire();
initDrawer();
map.init();
const token = auth.takeToken();
if (token) start(token);
else showLogin();
