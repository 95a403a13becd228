/**
 * Embed tokens: a JWT (HS256, jose) naming one template version and its locked parameter values, with
 * an expiry, so one report can be shown in another site's iframe without a login. Signed with a key
 * derived from the server's secret key; only this server (or nodes sharing the key) can make or read one.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { TraceReportError } from '../../datasources/errors.js';
import { deriveKey } from '../store/secret-key.js';

const ISSUER = 'tracereport';
const AUDIENCE = 'tracereport-embed';
export const MAX_EMBED_SECONDS = 30 * 24 * 3600;

export interface EmbedClaims {
  /** Template id and the version the token is locked to. */
  template: number;
  version: number;
  params: Record<string, unknown>;
  /** Who made it (for the audit trail). */
  by: string;
  jti: string;
  exp: number;
}

export const embedKey = (secretKey: Buffer): Uint8Array => new Uint8Array(deriveKey(secretKey, 'embed tokens'));

export async function signEmbedToken(key: Uint8Array, c: Omit<EmbedClaims, 'jti' | 'exp'>, seconds: number): Promise<{ token: string; jti: string; expiresAt: string }> {
  const jti = randomBytes(9).toString('base64url');
  const exp = Math.floor(Date.now() / 1000) + seconds;
  const token = await new SignJWT({ tpl: c.template, ver: c.version, params: c.params, by: c.by })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(key);
  return { token, jti, expiresAt: new Date(exp * 1000).toISOString() };
}

export async function verifyEmbedToken(key: Uint8Array, token: string): Promise<EmbedClaims> {
  try {
    const { payload } = await jwtVerify(token, key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
    const p = payload as Record<string, unknown>;
    if (!Number.isInteger(p.tpl) || !Number.isInteger(p.ver) || typeof p.params !== 'object' || p.params === null || typeof p.jti !== 'string') {
      throw new Error('claims');
    }
    return { template: p.tpl as number, version: p.ver as number, params: p.params as Record<string, unknown>, by: String(p.by ?? ''), jti: p.jti, exp: Number(p.exp) };
  } catch (e) {
    const expired = e instanceof joseErrors.JWTExpired;
    throw new TraceReportError('AUTH_REQUIRED', expired ? 'this embed link has expired; ask for a new one' : 'this embed link is not valid');
  }
}
