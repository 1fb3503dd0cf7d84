// 通报曝光: the period's three exposure lists (scoring GET /v1/exposure), red before yellow,
// each with its XLSX export (GET /v1/exposure/export). A county gets its own items only.

import * as api from '../api.js';
import { fill, h } from '../dom.js';
import { figure } from '../figure.js';
import { COLOUR_LABELS, EXPOSURE_KINDS } from '../labels.js';
import * as lists from '../lists.js';
import { openProject } from '../drill.js';
import { download } from '../export.js';

const body = () => document.querySelector('#panel-exposure .body');

export async function load(ctx) {
  if (!ctx.seesScores) {
    fill(body(), h('p', { class: 'muted' }, '通报明细仅对市指挥部和县区开放'));
    return;
  }
  const kinds = Object.keys(EXPOSURE_KINDS);
  const asked = ctx.periodKey;
  const answers = await Promise.all(kinds.map((kind) => api.get('/scoring/v1/exposure', {
    kind, year: ctx.period.year, month: ctx.period.month, limit: 500,
  })));
  if (asked !== ctx.periodKey) return; // another period was chosen meanwhile
  fill(body(), kinds.map((kind, n) => block(ctx, kind, answers[n])));
}

function block(ctx, kind, answer) {
  const count = (colour) => answer.items.filter((i) => i.colour === colour).length;
  const exportButton = h('button', {
    type: 'button', class: 'export', 'data-testid': `export-exposure-${kind}`, title: '导出 Excel',
  }, '导出');
  exportButton.addEventListener('click', () => download('/scoring/v1/exposure/export', {
    kind, year: ctx.period.year, month: ctx.period.month,
  }, exportButton).catch(() => {}));
  const partial = answer.total > answer.items.length;
  return h('div', { class: 'exposure-block' },
    h('div', { class: 'exposure-head' },
      h('h3', {}, EXPOSURE_KINDS[kind]),
      figure({
        key: `exposure-${kind}`, value: answer.total, text: `${answer.total}`, label: '共',
        list: () => lists.exposure(ctx, kind),
      }),
      ['red', 'yellow'].map((colour) => figure({
        key: `exposure-${kind}-${colour}`, value: partial ? '' : count(colour), tone: colour,
        text: partial ? '…' : `${count(colour)}`, label: COLOUR_LABELS[colour],
        list: () => lists.exposure(ctx, kind, colour),
      })),
      exportButton),
    h('div', { class: 'exposure-list' },
      answer.items.length === 0 ? h('p', { class: 'muted' }, '本期无') : null,
      h('table', {
        'data-testid': `exposure-${kind}`,
      }, h('tbody', {}, answer.items.map((e) => h('tr', {
        'data-colour': e.colour, 'data-project': e.project_id, 'data-county': e.county,
        class: 'clickable',
        onclick: () => openProject(e.project_id),
      },
      h('td', {}, h('span', { class: `dot dot-${e.colour}` })),
      h('td', { class: 'county' }, e.county_name),
      h('td', { class: 'name', title: e.reason }, e.project_name)))))));
}
