/** The logged-in user, their roles, CSRF token and permissions, shared with every page. */
import { createContext, useContext } from 'react';
import { apiJson, setCsrfToken } from './api';
import type { Me, User } from './types';

export interface SessionContext {
  me: Me;
  logout(): Promise<void>;
}

export const Session = createContext<SessionContext | null>(null);

export function useSession(): SessionContext {
  const s = useContext(Session);
  if (!s) throw new Error('useSession outside a session');
  return s;
}

export function can(me: Me, permission: string): boolean {
  return me.permissions.includes(permission);
}

/** After login or on load: the token for changes, and what the roles may do. */
export async function loadMe(session: { user: User; csrfToken: string }): Promise<Me> {
  setCsrfToken(session.csrfToken);
  const { permissions } = await apiJson<{ permissions: string[] }>('GET', '/api/viewer/permissions');
  return { user: session.user, csrfToken: session.csrfToken, permissions };
}
