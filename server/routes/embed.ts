/**
 * Embedding one report in another site's iframe without a login: a designer or admin makes a signed
 * token locking the template version and its parameter values; `/embed/<token>` renders that report
 * as HTML until the token expires. Browsers frame it only on the origins given to `serve --embed-origin`.
 */
import { TraceReportError } from '../../datasources/errors.js';
import { convertValue } from '../../renderer/params.js';
import { requireGrant } from '../auth/folder-grant.js';
import { embedKey, MAX_EMBED_SECONDS, signEmbedToken, verifyEmbedToken } from '../auth/embed-token.js';
import { CONTENT_SECURITY_POLICY } from '../security-headers.js';
import { sendRender } from '../render/send-render.js';
import { userBindings } from '../render/user-bindings.js';
import { findUserForLogin } from '../store/users.js';
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
      const { template, version } = await s.templates.body(id);
      const byName = new Map(template.parameters.map((p) => [p.name, p]));
      for (const [name, value] of Object.entries(params as Record<string, unknown>)) {
        const p = byName.get(name);
        if (!p) throw new TraceReportError('PARAM_UNKNOWN', `unknown parameter "${name}"; this report takes ${[...byName.keys()].map((k) => `"${k}"`).join(', ') || 'none'}`, { unknown: [name] });
        convertValue(p, value);
      }
      const made = await signEmbedToken(embedKey(s.store.secretKey), { template: id, version, params: params as Record<string, unknown>, by: user.username }, seconds as number);
      await audit(ctx, { action: 'embed.create', object: `template:${id}`, params: { version, params, jti: made.jti, expiresAt: made.expiresAt } });
      ctx.status = 201;
      ctx.body = { path: `/embed/${made.token}`, token: made.token, expiresAt: made.expiresAt, version };
    },
  },
  {
    method: 'GET',
    path: '/embed/:token',
    permission: 'public',
    summary: 'the embedded report as HTML (the signed token is the credential); framable only by the --embed-origin origins',
    async handler(ctx, s) {
      const claims = await verifyEmbedToken(embedKey(s.store.secretKey), ctx.params.token ?? '');
      // The report shows what its maker may see: their row-level values, and only while they can still view it.
      const maker = (await findUserForLogin(s.store.knex, claims.by))?.user;
      if (!maker || maker.disabled) throw new TraceReportError('FORBIDDEN', `the user who made this embed link (${claims.by}) no longer exists or is disabled; ask for a new link`);
      const info = await s.templates.get(claims.template);
      await requireGrant(s, maker, info.folderId, 'view');
      const { template, version } = await s.templates.body(claims.template, claims.version);
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
