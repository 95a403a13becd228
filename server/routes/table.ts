/** THE route table: the server is built from it, `tracereport routes` prints it, the tests enumerate it. */
import { authRoutes } from './auth.js';
import { healthRoutes } from './health.js';
import { userRoutes } from './users.js';
import { folderRoutes } from './folders.js';
import { dataSourceRoutes } from './datasources.js';
import { templateRoutes } from './templates.js';
import { reportRoutes } from './reports.js';
import { traceRoutes } from './trace.js';
import { auditRoutes } from './audit.js';
import { collectorRoutes } from './collectors.js';
import { embedRoutes } from './embed.js';
import { viewerRoutes } from './viewer.js';
import type { RouteDef } from './route.js';

export const ROUTES: readonly RouteDef[] = [
  ...healthRoutes,
  ...authRoutes,
  ...userRoutes,
  ...folderRoutes,
  ...dataSourceRoutes,
  ...templateRoutes,
  ...reportRoutes,
  ...traceRoutes,
  ...auditRoutes,
  ...collectorRoutes,
  ...embedRoutes,
  ...viewerRoutes,
];

/** The table without handlers, as printed and documented. */
export function routeTable(): { method: string; path: string; permission: string; summary: string }[] {
  return ROUTES.map(({ method, path, permission, summary }) => ({ method, path, permission, summary }));
}
