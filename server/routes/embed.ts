/**
 * Embedding one report in another site's iframe without a login: a designer or admin makes a signed
 * token locking the template version and its parameter values; `/embed/<token>` renders that report
 * as HTML until the token expires or is revoked (every link is recorded: listed and revoked one by one).
 * Browsers frame it only on the origins given to `serve --embed-origin`.
 */
import { TraceReportError } from '../../datasources/errors.js';
import { convertValue } from '../../renderer/params.js';
import { requireGrant } from '../auth/folder-grant.js';
import { embedKey, MAX_EMBED_SECONDS, signEmbedToken, verifyEmbedToken } from '../auth/embed-token.js';
import { CONTENT_SECURITY_POLICY } from '../security-headers.js';
import { sendRender } from '../render/send-render.js';
import { userBindings } from '../render/user-bindings.js';
import { findUserForLogin } from '../store/users.js';
import { getEmbedLink, listEmbedLinks, recordEmbedLink, revokeEmbedLink } from '../store/embed-links.js';
import { allows } from '../auth/permissions.js';
import { audit, bodyOf, userOf, type RouteDef } from './route.js';

export const embedRoutes: RouteDef[] = [
  {
    method: 'POST',
    path: '/api/embed-tokens',
    permission: 'embed.create',
    summary: 'make an embed link {templateId, params, expiresInSeconds?} locking the current version and the parameter values',
    async handler(ctx, s) {
      const b = bodyOf(ctx);
      if (!Number.isInteger(b.templateId)) throw new TraceReportError('BODY_INVALID', 'templateId: the id of a template', { path: '$.templateId' });
      const params = b.params ?? {};
      if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new TraceReportError('BODY_INVALID', 'params: an object of parameter values', { path: '$.params' });
      const seconds = b.expiresInSeconds ?? 24 * 3600;
      if (!Number.isInteger(seconds) || (seconds as number) < 60 || (seconds as number) > MAX_EMBED_SECONDS) {
        throw new TraceReportError('BODY_INVALID', `expiresInSeconds: 60 to ${MAX_EMBED_SECONDS} (30 days)`, { path: '$.expiresInSeconds' });
      }
      const id = b.templateId as number;
      const user = userOf(ctx);
      const info = await s.templates.get(id);
      await requireGrant(s, user, info.folderId, 'view');
      const { template, version } = await s.templates.bodyOf(info);
      const byName = new Map(template.parameters.map((p) => [p.name, p]));
      for (const [name, value] of Object.entries(params as Record<string, unknown>)) {
        const p = byName.get(name);
        if (!p) throw new TraceReportError('PARAM_UNKNOWN', `unknown parameter "${name}"; this report takes ${[...byName.keys()].map((k) => `"${k}"`).join(', ') || 'none'}`, { unknown: [name] });
        convertValue(p, value);
      }
      const made = await signEmbedToken(embedKey(s.store.secretKey), { template: id, version, params: params as Record<string, unknown>, by: user.username }, seconds as number);
      await recordEmbedLink(s.store.knex, {
        jti: made.jti, templateId: id, version, params: params as Record<string, unknown>, createdBy: user.username, createdAt: new Date().toISOString(), expiresAt: made.expiresAt,
      });
      await audit(ctx, { action: 'embed.create', object: `template:${id}`, params: { version, params, jti: made.jti, expiresAt: made.expiresAt } });
      ctx.status = 201;
      ctx.body = { path: `/embed/${made.token}`, token: made.token, jti: made.jti, expiresAt: made.expiresAt, version };
    },
  },
  {
    method: 'GET',
    path: '/api/embed-tokens',
    permission: 'embed.create',
    summary: 'the embed links one made (everyone\'s for users.manage), newest first; ?all=true adds expired and revoked ones (tokens themselves are never shown again)',
    async handler(ctx, s) {
      const user = userOf(ctx);
      const all = ctx.query.all === 'true';
      const everyone = allows(user.roles, 'users.manage');
      ctx.body = { links: await listEmbedLinks(s.store.knex, { all, ...(everyone ? {} : { createdBy: user.username }) }) };
    },
  },
  {
    method: 'DELETE',
    path: '/api/embed-tokens/:jti',
    permission: 'embed.create',
    summary: 'revoke one embed link by its id (jti): its own maker, or a user with users.manage; the link stops working at once',
    async handler(ctx, s) {
      const user = userOf(ctx);
      const jti = ctx.params.jti ?? '';
      const link = await getEmbedLink(s.store.knex, jti);
      const everyone = allows(user.roles, 'users.manage');
      // Another maker's link is "not found" to a user who may not manage it (its id says nothing to them).
      if (!link || (!everyone && link.createdBy !== user.username)) {
        throw new TraceReportError('NOT_FOUND', `no embed link "${jti}" of yours; GET /api/embed-tokens lists them`);
      }
      if (link.revokedAt) {
        ctx.body = link;
        return;
      }
      const after = (await revokeEmbedLink(s.store.knex, jti, user.username))!;
      await audit(ctx, { action: 'embed.revoke', object: `template:${link.templateId}`, params: { jti, createdBy: link.createdBy, expiresAt: link.expiresAt } });
      ctx.body = after;
    },
  },
  {
    method: 'GET',
    path: '/embed/:token',
    permission: 'public',
    summary: 'the embedded report as HTML (the signed token is the credential); framable only by the --embed-origin origins',
    async handler(ctx, s) {
      const claims = await verifyEmbedToken(embedKey(s.store.secretKey), ctx.params.token ?? '');
      const link = await getEmbedLink(s.store.knex, claims.jti);
      if (!link) throw new TraceReportError('AUTH_REQUIRED', 'this embed link is not on record (made before links were recorded, or by another server); ask for a new one');
      if (link.revokedAt) throw new TraceReportError('AUTH_REQUIRED', `this embed link was revoked on ${link.revokedAt}; ask for a new one`);
      // The report shows what its maker may see: their row-level values, and only while they can still view it.
      const maker = (await findUserForLogin(s.store.knex, claims.by))?.user;
      if (!maker || maker.disabled) throw new TraceReportError('FORBIDDEN', `the user who made this embed link (${claims.by}) no longer exists or is disabled; ask for a new link`);
      const info = await s.templates.get(claims.template);
      await requireGrant(s, maker, info.folderId, 'view');
      const { template, version } = await s.templates.bodyOf(info, claims.version);
      await sendRender(ctx, s, {
        id: claims.template,
        version,
        template,
        params: claims.params,
        bound: userBindings(maker),
        format: 'html',
        audit: { action: 'report.view', user: `embed:${claims.jti}` },
      });
      const origins = s.settings.embedOrigins;
      ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", `frame-ancestors ${origins.length ? origins.join(' ') : "'none'"}`));
      if (origins.length) ctx.remove('X-Frame-Options');
      ctx.set('Content-Disposition', 'inline');
    },
  },
];
