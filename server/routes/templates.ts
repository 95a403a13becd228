/** Templates in folders with a version history. */
import { TraceReportError } from '../../datasources/errors.js';
import { requireGrant } from '../auth/folder-grant.js';
import { grantsFor, listFolders } from '../store/folders.js';
import { audit, bodyOf, idParam, userOf, type RouteDef } from './route.js';

function noteOf(b: Record<string, unknown>): string | undefined {
  if (b.note === undefined) return undefined;
  if (typeof b.note !== 'string' || b.note.length > 500) throw new TraceReportError('BODY_INVALID', 'note: text of at most 500 characters', { path: '$.note' });
  return b.note;
}

export const templateRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/api/templates',
    permission: 'templates.read',
    summary: 'templates in the folders the user may view (?folder=ID for one folder)',
    async handler(ctx, s) {
      const user = userOf(ctx);
      const visible: number[] = [];
      for (const f of await listFolders(s.store.knex)) if ((await grantsFor(s.store.knex, user, f.id)).has('view')) visible.push(f.id);
      const folder = ctx.query.folder === undefined ? undefined : Number(ctx.query.folder);
      ctx.body = { templates: await s.templates.list(folder === undefined ? visible : visible.filter((v) => v === folder)) };
    },
  },
  {
    method: 'POST',
    path: '/api/templates',
    permission: 'templates.edit',
    summary: 'create {folderId, template, note?}: version 1; the template is validated (errors with JSON paths)',
    async handler(ctx, s) {
      const b = bodyOf(ctx);
      if (!Number.isInteger(b.folderId)) throw new TraceReportError('BODY_INVALID', 'folderId: the id of a folder', { path: '$.folderId' });
      if (b.template === undefined) throw new TraceReportError('BODY_INVALID', 'template: the template JSON', { path: '$.template' });
      await requireGrant(s, userOf(ctx), b.folderId as number, 'edit');
      const created = await s.templates.create(b.folderId as number, b.template, userOf(ctx).username, noteOf(b));
      await audit(ctx, { action: 'template.create', object: `template:${created.id}`, after: { ...created, body: b.template } });
      ctx.status = 201;
      ctx.body = { template: created };
    },
  },
  {
    method: 'GET',
    path: '/api/templates/:id',
    permission: 'templates.read',
    summary: 'the current version: {template: info, body}',
    async handler(ctx, s) {
      const id = idParam(ctx);
      const info = await s.templates.get(id);
      await requireGrant(s, userOf(ctx), info.folderId, 'view');
      const { raw } = await s.templates.body(id);
      ctx.body = { template: info, body: raw };
    },
  },
  {
    method: 'PUT',
    path: '/api/templates/:id',
    permission: 'templates.edit',
    summary: 'save {template, note?} as a new version',
    async handler(ctx, s) {
      const id = idParam(ctx);
      const b = bodyOf(ctx);
      if (b.template === undefined) throw new TraceReportError('BODY_INVALID', 'template: the template JSON', { path: '$.template' });
      const info = await s.templates.get(id);
      await requireGrant(s, userOf(ctx), info.folderId, 'edit');
      const old = await s.templates.body(id);
      const { after } = await s.templates.update(id, b.template, userOf(ctx).username, noteOf(b));
      await audit(ctx, { action: 'template.update', object: `template:${id}`, before: { version: old.version, body: old.raw }, after: { version: after.version, body: b.template } });
      ctx.body = { template: after };
    },
  },
  {
    method: 'DELETE',
    path: '/api/templates/:id',
    permission: 'templates.edit',
    summary: 'delete a template (its versions are kept for the audit trail)',
    async handler(ctx, s) {
      const id = idParam(ctx);
      const info = await s.templates.get(id);
      await requireGrant(s, userOf(ctx), info.folderId, 'edit');
      await s.templates.delete(id);
      await audit(ctx, { action: 'template.delete', object: `template:${id}`, before: info });
      ctx.status = 204;
    },
  },
  {
    method: 'GET',
    path: '/api/templates/:id/versions',
    permission: 'templates.read',
    summary: 'the version history, newest first',
    async handler(ctx, s) {
      const id = idParam(ctx);
      const info = await s.templates.get(id);
      await requireGrant(s, userOf(ctx), info.folderId, 'view');
      ctx.body = { versions: await s.templates.versions(id) };
    },
  },
  {
    method: 'GET',
    path: '/api/templates/:id/versions/:version',
    permission: 'templates.read',
    summary: 'one version: {template: info, version, body}',
    async handler(ctx, s) {
      const id = idParam(ctx);
      const info = await s.templates.get(id);
      await requireGrant(s, userOf(ctx), info.folderId, 'view');
      const { version, raw } = await s.templates.body(id, idParam(ctx, 'version'));
      ctx.body = { template: info, version, body: raw };
    },
  },
  {
    method: 'POST',
    path: '/api/templates/:id/versions/:version/restore',
    permission: 'templates.edit',
    summary: 'save an old version as the newest version',
    async handler(ctx, s) {
      const id = idParam(ctx);
      const version = idParam(ctx, 'version');
      const info = await s.templates.get(id);
      await requireGrant(s, userOf(ctx), info.folderId, 'edit');
      const { before, after } = await s.templates.restore(id, version, userOf(ctx).username);
      await audit(ctx, { action: 'template.restore', object: `template:${id}`, params: { version }, before: { version: before.version }, after: { version: after.version } });
      ctx.body = { template: after };
    },
  },
];
