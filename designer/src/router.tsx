/**
 * A small history router: the location as React state, push/replace navigation, and an id per
 * history entry (kept in history.state) so a page reloads its data when the user moves to another
 * entry (a link, a breadcrumb, browser back) but not when it only rewrites its own URL (a new page
 * number, a new query) with `replace`.
 */
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

export interface EntryState {
  /** Unique per history entry. */
  id: string;
  [key: string]: unknown;
}

export interface Location {
  path: string;
  search: string;
  hash: string;
  state: EntryState;
}

const listeners = new Set<() => void>();
let current: Location | null = null;

const newId = () => Math.random().toString(36).slice(2) + Date.now().toString(36);

function read(): Location {
  let state = window.history.state as EntryState | null;
  if (!state || typeof state.id !== 'string') {
    state = { ...(state ?? {}), id: newId() };
    window.history.replaceState(state, '');
  }
  return { path: window.location.pathname, search: window.location.search, hash: window.location.hash, state };
}

function changed(): void {
  current = read();
  for (const l of listeners) l();
}

window.addEventListener('popstate', changed);

export function getLocation(): Location {
  return (current ??= read());
}

export function useLocation(): Location {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    getLocation,
  );
}

/**
 * Goes to `to` (a path with query and hash). `replace` rewrites the current entry and keeps its id;
 * `state` is stored with the entry (merged over the current one's when replacing).
 */
export function navigate(to: string, opts: { replace?: boolean; state?: Record<string, unknown> } = {}): void {
  if (opts.replace) {
    const id = getLocation().state.id;
    window.history.replaceState({ ...getLocation().state, ...opts.state, id }, '', to);
  } else {
    window.history.pushState({ ...opts.state, id: newId() }, '', to);
    window.scrollTo(0, 0);
  }
  changed();
}

/** The current path, query and hash: what to come back to. */
export function here(): string {
  const l = getLocation();
  return l.path + l.search + l.hash;
}

/** An anchor that navigates inside the app (a modified click still opens a new tab). */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { onClick, ...rest } = props;
  return (
    <a
      {...rest}
      onClick={(e: MouseEvent<HTMLAnchorElement>) => {
        onClick?.(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(props.href);
      }}
    />
  );
}
