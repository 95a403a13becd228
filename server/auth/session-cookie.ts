/** The session cookie: HttpOnly, SameSite=Lax, Secure under TLS; the session itself lives in the database. */
import type { Context } from 'koa';

export const SESSION_COOKIE = 'tr_session';
export const CSRF_HEADER = 'x-csrf-token';

export function setSessionCookie(ctx: Context, token: string, tls: boolean): void {
  ctx.cookies.set(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', secure: tls, path: '/', overwrite: true });
}

export function clearSessionCookie(ctx: Context, tls: boolean): void {
  ctx.cookies.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'lax', secure: tls, path: '/', overwrite: true, expires: new Date(0) });
}
