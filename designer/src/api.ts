/**
 * The server's JSON API over fetch: the session cookie goes along by itself (HttpOnly, same origin);
 * the CSRF token from login or GET /api/auth/me goes in `x-csrf-token` on every POST/PUT/DELETE.
 * Errors are the server's `{error: {code, message, details}}` as an ApiError; AUTH_REQUIRED
 * (the session ended) calls the handler the app set, which shows the login page.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
    /** Seconds from Retry-After (rate limits). */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }

  /** The parameter a PARAM_* error is about (`details.parameter`). */
  get parameter(): string | null {
    const d = this.details as { parameter?: unknown } | null;
    return d && typeof d.parameter === 'string' ? d.parameter : null;
  }
}

let csrfToken: string | null = null;
let authRequired: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function onAuthRequired(handler: (() => void) | null): void {
  authRequired = handler;
}

async function errorOf(res: Response): Promise<ApiError> {
  const retry = Number(res.headers.get('retry-after'));
  const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : null;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; details?: unknown } };
    if (body.error?.code) return new ApiError(res.status, body.error.code, body.error.message ?? body.error.code, body.error.details ?? null, retryAfter);
  } catch {
    // not JSON: fall through
  }
  return new ApiError(res.status, 'HTTP_' + res.status, `${res.status} ${res.statusText}`, null, retryAfter);
}

async function send(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, accept = 'application/json'): Promise<Response> {
  const headers: Record<string, string> = { accept };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', e instanceof Error ? e.message : String(e), null);
  }
  if (!res.ok) {
    const err = await errorOf(res);
    if (err.code === 'AUTH_REQUIRED' && path !== '/api/auth/me') authRequired?.();
    throw err;
  }
  return res;
}

export async function apiJson<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await send(method, path, body);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/**
 * The file name in a Content-Disposition header: `filename*=UTF-8''…` (RFC 5987) when present,
 * else `filename="…"`, else the fallback.
 */
export function filenameFrom(disposition: string | null, fallback: string): string {
  if (!disposition) return fallback;
  const star = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(disposition);
  if (star?.[2]) {
    try {
      return decodeURIComponent(star[2].trim());
    } catch {
      // a malformed escape: use the plain name
    }
  }
  const plain = /filename\s*=\s*"((?:[^"\\]|\\.)*)"|filename\s*=\s*([^;]+)/i.exec(disposition);
  const name = plain?.[1] ?? plain?.[2]?.trim();
  return name || fallback;
}

/** A file the server sends (an export): its bytes and the name from Content-Disposition. */
export async function apiDownload(method: 'GET' | 'POST', path: string, body: unknown, fallbackName: string): Promise<{ blob: Blob; filename: string }> {
  const res = await send(method, path, body, '*/*');
  return { blob: await res.blob(), filename: filenameFrom(res.headers.get('content-disposition'), fallbackName) };
}

/** Saves a downloaded file under its name (the browser's normal download). */
export function saveFile(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
