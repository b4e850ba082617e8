// The JSON API client: every call of the UI goes through `api()`.
// - JSON in and out; the session cookie is sent by the browser (same origin).
// - State-changing calls carry the X-CSRF-Token header (from /api/v1/me or the login answer).
// - 401: the session is gone; the browser goes to the login page, then back here.
// - Other errors throw an ApiError carrying the API's {error, detail}.

let csrf = null;

/** An error answered by the API (or the network). */
export class ApiError extends Error {
  constructor(status, error, detail) {
    super(describe(error, detail));
    this.status = status;
    this.error = error;
    this.detail = detail;
  }
}

/** A readable sentence from the API's `{error, detail}`. */
export function describe(error, detail) {
  if (detail == null || detail === '') return String(error || 'request failed');
  if (typeof detail === 'string') return `${error}: ${detail}`;
  if (typeof detail === 'object') {
    if (detail.message) return String(detail.message);
    if (Array.isArray(detail.errors)) {
      return `${error}: ` + detail.errors.map(e => e.message || JSON.stringify(e)).join('; ');
    }
    if (detail.retry_after_secs != null) return `${error}: try again in ${detail.retry_after_secs} s`;
    return `${error}: ${JSON.stringify(detail)}`;
  }
  return `${error}: ${detail}`;
}

/** Remembers the CSRF token (login answer, /me). */
export function setCsrf(token) {
  csrf = token || null;
}

/** Sends the browser to the login page, coming back to the current page afterwards. */
export function toLogin() {
  const here = location.pathname + location.search;
  location.assign('/login?next=' + encodeURIComponent(here.startsWith('/ui') ? here : '/ui/'));
}

/**
 * Calls the API. `path` is under /api/v1 (e.g. '/extensions'); `body` is sent as JSON.
 * Resolves to the parsed JSON answer (null for 204), rejects with ApiError.
 */
export async function api(method, path, body, { signal } = {}) {
  const headers = { Accept: 'application/json' };
  const changing = method !== 'GET' && method !== 'HEAD';
  if (changing) {
    if (!csrf) await loadMe();
    headers['X-CSRF-Token'] = csrf || '';
  }
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch('/api/v1' + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network error', 'the server could not be reached');
  }
  if (res.status === 401 && path !== '/login') {
    toLogin();
    throw new ApiError(401, 'login required', null);
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const error = data && data.error ? data.error : `HTTP ${res.status}`;
    throw new ApiError(res.status, error, data ? data.detail : text.slice(0, 200));
  }
  return data;
}

/** GET shorthand. */
export const get = (path, opts) => api('GET', path, undefined, opts);

/** The caller ({name, role, csrf_token}); remembers the CSRF token. */
export async function loadMe() {
  const me = await api('GET', '/me');
  setCsrf(me.csrf_token || me.csrf);
  return me;
}

/** A query string from an object, skipping empty values ('' if nothing is left). */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}
