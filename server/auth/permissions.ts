/**
 * Route permissions and what each role holds. A route names one permission (or `public`, or
 * `authenticated` for anything a logged-in user may do); folder grants (view, export, edit) are
 * checked in addition by the routes that touch a folder's templates.
 */
import type { Role } from '../store/users.js';

export const PERMISSIONS = [
  'public',
  'authenticated',
  'users.manage',
  'folders.manage',
  'datasources.read',
  'datasources.manage',
  'templates.read',
  'templates.edit',
  'reports.view',
  'trace.query',
  'audit.read',
  'embed.create',
  'collectors.read',
  'collectors.manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

type Granted = Exclude<Permission, 'public' | 'authenticated'>;

export const ROLE_PERMISSIONS: Record<Role, readonly Granted[]> = {
  admin: ['users.manage', 'folders.manage', 'datasources.read', 'datasources.manage', 'templates.read', 'templates.edit', 'reports.view', 'trace.query', 'audit.read', 'embed.create', 'collectors.read', 'collectors.manage'],
  designer: ['datasources.read', 'templates.read', 'templates.edit', 'reports.view', 'trace.query', 'embed.create'],
  viewer: ['templates.read', 'reports.view', 'trace.query'],
  operator: ['templates.read', 'reports.view', 'trace.query'],
  auditor: ['audit.read', 'templates.read'],
};

export function rolesHolding(permission: Permission): Role[] {
  return (Object.keys(ROLE_PERMISSIONS) as Role[]).filter((r) => allows([r], permission));
}

export function allows(roles: readonly Role[], permission: Permission): boolean {
  if (permission === 'public' || permission === 'authenticated') return true;
  return roles.some((r) => ROLE_PERMISSIONS[r]?.includes(permission));
}
