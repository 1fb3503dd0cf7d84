// One small client for every service behind the gateway: relative paths on this origin,
// the bearer token, a 401 back to the login screen, problem+json details as errors.

let token = null;
let onUnauthorized = () => {};

export function configure(newToken, unauthorized) {
  token = newToken;
  onUnauthorized = unauthorized;
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

export function url(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    for (const v of Array.isArray(value) ? value : [value]) query.append(key, String(v));
  }
  const qs = query.toString();
  return qs ? `${path}?${qs}` : path;
}

async function request(path, params) {
  const response = await fetch(url(path, params), {
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
  });
  if (response.status === 401) {
    onUnauthorized('登录已失效，请重新输入令牌');
    throw new ApiError(401, '未登录');
  }
  if (!response.ok) {
    let detail = '';
    try {
      detail = (await response.json()).detail;
    } catch {
      /* not a problem document */
    }
    throw new ApiError(response.status, `${path}: ${detail || response.statusText}`);
  }
  return response;
}

export async function get(path, params = {}) {
  return (await request(path, params)).json();
}

/** A file answer (an XLSX export): the blob and the name Content-Disposition gives it. */
export async function file(path, params = {}) {
  const response = await request(path, params);
  const disposition = response.headers.get('Content-Disposition') || '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  const name = star ? decodeURIComponent(star[1]) : plain ? plain[1] : 'export.xlsx';
  return { blob: await response.blob(), name };
}

export function streamUrl(path, params = {}) {
  return url(path, { ...params, access_token: token });
}
