/**
 * Routes the web viewer needs beyond the report API: resolving the report reference of a drill-down
 * link (`/view/<report>?…`, written by renderer/link-href.ts) to a template the user may view, and
 * the session's permissions (which links to show; every route still checks for itself).
 */
import { TraceReportError } from '../../datasources/errors.js';
import { allows, PERMISSIONS } from '../auth/permissions.js';
import { getFolder, grantsFor, listFolders, type Grant } from '../store/folders.js';
import type { TemplateInfo } from '../store/templates.js';
import type { Services } from '../services.js';
import type { User } from '../store/users.js';
import { userOf, type RouteDef } from './route.js';

/** "Batch trace" → "batch-trace": lower case, accents dropped, every run of other than letters and digits one "-". */
export function reportSlug(name: string): string {
  return name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * The template a reference names, among those the user may view: a whole number is a template id;
 * otherwise the exact template name, then the same slug ("batch-trace" finds "Batch trace"). When
 * several folders hold a match, the oldest template wins.
 */
export async function resolveReport(s: Services, user: User, ref: string): Promise<{ template: TemplateInfo; grants: Grant[] }> {
  const grantsByFolder = new Map<number, Set<Grant>>();
  for (const f of await listFolders(s.store.knex)) {
    const g = await grantsFor(s.store.knex, user, f.id);
    if (g.has('view')) grantsByFolder.set(f.id, g);
  }
  const visible = (await s.templates.list([...grantsByFolder.keys()])).sort((a, b) => a.id - b.id);
  let found: TemplateInfo | undefined;
  if (/^\d+$/.test(ref)) {
    found = visible.find((t) => t.id === Number(ref));
  } else {
    const slug = reportSlug(ref);
    found = visible.find((t) => t.name === ref) ?? (slug ? visible.find((t) => reportSlug(t.name) === slug) : undefined);
  }
  if (!found) {
    throw new TraceReportError('TEMPLATE_NOT_FOUND', `no report "${ref}" that you may view: the reference is a template id, its name or the name in lower case with dashes (batch-trace for "Batch trace")`, { report: ref });
  }
  return { template: found, grants: [...grantsByFolder.get(found.folderId)!].sort() };
}

export const viewerRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/api/viewer/reports/:ref',
    permission: 'reports.view',
    summary: 'resolve a report reference (a drill-down link /view/<ref>: template id, exact name, or its slug such as batch-trace) to a template the user may view: {template, folder, grants}',
    async handler(ctx, s) {
      const ref = ctx.params.ref ?? '';
      if (!ref || ref.length > 200) throw new TraceReportError('ARGUMENT_INVALID', 'ref: a template id or name of at most 200 characters', { parameter: 'ref' });
      const { template, grants } = await resolveReport(s, userOf(ctx), ref);
      const folder = await getFolder(s.store.knex, template.folderId);
      ctx.body = { template, folder, grants };
    },
  },
  {
    method: 'GET',
    path: '/api/viewer/permissions',
    permission: 'authenticated',
    summary: "the permissions the session's roles hold (the viewer shows only links the user can use; each route still checks)",
    async handler(ctx) {
      const { roles } = userOf(ctx);
      ctx.body = { roles, permissions: PERMISSIONS.filter((p) => p !== 'public' && allows(roles, p)) };
    },
  },
];
