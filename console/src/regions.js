// The division table (registry GET /v1/regions), loaded once after login.

let divisions = [];
const byCode = new Map();

export function setRegions(table) {
  divisions = table.divisions;
  byCode.clear();
  for (const d of divisions) {
    byCode.set(d.code, d);
    for (const old of d.old_codes || []) byCode.set(old, d);
  }
}

export function allDivisions() {
  return divisions;
}

export function regionName(code) {
  return byCode.get(code)?.name || code || '—';
}

/** A short label for charts: the zones' long names shortened. */
export function shortName(code) {
  return regionName(code)
    .replace(/^滨州经济技术开发区$/, '经开区')
    .replace(/^滨州高新技术产业开发区$/, '高新区')
    .replace(/^北海经济开发区$/, '北海经开区');
}
