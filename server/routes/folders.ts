/** Folders of templates and their grants. */
import { TraceReportError } from '../../datasources/errors.js';
import { createFolder, getFolder, grantsFor, listFolders, listGrants, setGrants, GRANTS, type FolderGrant, type Grant } from '../store/folders.js';
import { audit, bodyOf, idParam, userOf, type RouteDef } from './route.js';

export const folderRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/api/folders',
    permission: 'authenticated',
    summary: 'folders the user may view, each with what the user may do in it (view, export, edit)',
    async handler(ctx, s) {
      const user = userOf(ctx);
      const out = [];
      for (const f of await listFolders(s.store.knex)) {
        const grants = await grantsFor(s.store.knex, user, f.id);
        if (grants.has('view')) out.push({ ...f, grants: [...grants].sort() });
      }
      ctx.body = { folders: out };
    },
  },
  {
    method: 'POST',
    path: '/api/folders',
    permission: 'folders.manage',
    summary: 'create a folder {name}',
    async handler(ctx, s) {
      const b = bodyOf(ctx);
      if (typeof b.name !== 'string') throw new TraceReportError('BODY_INVALID', 'send {"name": "…"}', { path: '$.name' });
      const folder = await createFolder(s.store.knex, b.name);
      await audit(ctx, { action: 'folder.create', object: `folder:${folder.id}`, after: folder });
      ctx.status = 201;
      ctx.body = { folder };
    },
  },
  {
    method: 'GET',
    path: '/api/folders/:id/grants',
    permission: 'folders.manage',
    summary: "a folder's grants",
    async handler(ctx, s) {
      const id = idParam(ctx);
      if (!(await getFolder(s.store.knex, id))) throw new TraceReportError('NOT_FOUND', `no folder with id ${id}`);
      ctx.body = { grants: await listGrants(s.store.knex, id) };
    },
  },
  {
    method: 'PUT',
    path: '/api/folders/:id/grants',
    permission: 'folders.manage',
    summary: 'replace a folder\'s grants {grants: [{subjectKind: "role"|"user", subject, permission: "view"|"export"|"edit"}]}',
    async handler(ctx, s) {
      const id = idParam(ctx);
      if (!(await getFolder(s.store.knex, id))) throw new TraceReportError('NOT_FOUND', `no folder with id ${id}`);
      const list = bodyOf(ctx).grants;
      if (!Array.isArray(list)) throw new TraceReportError('BODY_INVALID', 'send {"grants": [...]}', { path: '$.grants' });
      const grants: FolderGrant[] = list.map((g: unknown, i: number) => {
        const x = (g ?? {}) as Record<string, unknown>;
        if ((x.subjectKind !== 'role' && x.subjectKind !== 'user') || typeof x.subject !== 'string' || !GRANTS.includes(x.permission as Grant)) {
          throw new TraceReportError('BODY_INVALID', `grants[${i}]: {subjectKind: "role"|"user", subject, permission: ${GRANTS.join('|')}}`, { path: `$.grants[${i}]` });
        }
        return { subjectKind: x.subjectKind, subject: x.subject, permission: x.permission as Grant };
      });
      const before = await listGrants(s.store.knex, id);
      await setGrants(s.store.knex, id, grants);
      const after = await listGrants(s.store.knex, id);
      await audit(ctx, { action: 'grant.change', object: `folder:${id}`, before, after });
      ctx.body = { grants: after };
    },
  },
];
