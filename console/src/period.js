// The period (a month of a year): the latest publication by default, else the latest month
// that has begun in Shanghai; the selector offers every month up to the current one.

function shanghaiNow() {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit',
  }).formatToParts(new Date());
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  return { year: get('year'), month: get('month') };
}

export function key(period) {
  return `${period.year}-${String(period.month).padStart(2, '0')}`;
}

export function parse(value) {
  const [year, month] = value.split('-').map(Number);
  return { year, month };
}

export function label(period) {
  return `${period.year}年${period.month}月`;
}

export function monthEnd(period) {
  const last = new Date(Date.UTC(period.year, period.month, 0)).getUTCDate();
  return `${key(period)}-${String(last).padStart(2, '0')}`;
}

/** Default period and the options (newest first) from the publications list. */
export function choices(publications) {
  const now = shanghaiNow();
  const sorted = [...publications].sort((a, b) => b.year - a.year || b.month - a.month);
  const initial = sorted.length ? { year: sorted[0].year, month: sorted[0].month } : now;
  const firstYear = Math.min(now.year, ...publications.map((p) => p.year));
  const options = [];
  for (let y = now.year; y >= firstYear; y -= 1) {
    for (let m = y === now.year ? now.month : 12; m >= 1; m -= 1) options.push({ year: y, month: m });
  }
  return { initial, options };
}
