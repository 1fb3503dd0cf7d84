// The token: from the URL fragment (#token=...) or the login screen, kept in sessionStorage.
// The claims are read here only to decide what to show; the services verify the signature.

const KEY = 'kuaiche.token';

export function decodeClaims(token) {
  const parts = String(token || '').trim().split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    if (!claims || typeof claims.role !== 'string') return null;
    if (!['commander', 'county', 'department', 'viewer'].includes(claims.role)) return null;
    if (claims.role === 'county' && !claims.county) return null;
    if (claims.role === 'department' && !claims.department) return null;
    return claims;
  } catch {
    return null;
  }
}

export function isExpired(claims) {
  return typeof claims.exp === 'number' && claims.exp * 1000 <= Date.now();
}

/** The token in the fragment wins; it is moved to sessionStorage and the fragment removed. */
export function takeToken() {
  const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (match) {
    sessionStorage.setItem(KEY, decodeURIComponent(match[1]));
    history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  return sessionStorage.getItem(KEY);
}

export function storeToken(token) {
  sessionStorage.setItem(KEY, token.trim());
}

export function clearToken() {
  sessionStorage.removeItem(KEY);
}
