// How numbers read on the screen; the raw values stay in data-value.

const grouped = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 0 });
const grouped1 = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 1 });
const grouped2 = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 2 });

export const UNIT_LABELS = {
  mu: '亩', tce: '吨标准煤', t: '吨', '10k_m3': '万立方米', '10k_yuan': '万元',
};

export function num(value, digits = 0) {
  if (value === null || value === undefined || value === '') return '—';
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  return (digits === 2 ? grouped2 : digits === 1 ? grouped1 : grouped).format(n);
}

/** 万元 (a decimal string) as 亿元: "78440000.00" -> "7,844 亿元". */
export function yi(wan, digits = 0) {
  if (wan === null || wan === undefined || wan === '') return '—';
  return `${num(Number(wan) / 10000, digits)} 亿元`;
}

export function wan(value) {
  return value === null || value === undefined ? '—' : `${num(value)} 万元`;
}

export function pct(rate) {
  return rate === null || rate === undefined || rate === '' ? '—' : `${rate}%`;
}

export function amount(value, unit) {
  return `${num(value, 2)} ${UNIT_LABELS[unit] || unit || ''}`.trim();
}

export function date(iso) {
  return iso ? String(iso).slice(0, 10) : '—';
}

export function time(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleTimeString('zh-CN', { hour12: false, timeZone: 'Asia/Shanghai' });
}

/** Short for big counts in tight cells: 1200000 -> "120万". */
export function compact(value) {
  const n = Number(value);
  if (!Number.isFinite(n)) return '—';
  return Math.abs(n) >= 10000 ? `${num(n / 10000, 1)}万` : num(n, 2);
}
