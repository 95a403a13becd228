/**
 * The `$user.*` values the server binds into every render for the logged-in user (row-level
 * security): `$user.id`, `$user.username`, `$user.roles` (a list) and one `$user.<name>` per
 * attribute (such as `plant`). The request never supplies them.
 */
import { attributeValue, USER_PREFIX, type BoundValues } from '../../renderer/user-values.js';
import type { TypedValue } from '../../renderer/params.js';
import type { User } from '../store/users.js';

const BUILT_IN = new Set(['id', 'username', 'roles']);

export function userBindings(user: User): BoundValues {
  const out: Record<string, TypedValue> = {
    [`${USER_PREFIX}id`]: user.id,
    [`${USER_PREFIX}username`]: user.username,
    [`${USER_PREFIX}roles`]: [...user.roles],
  };
  for (const [name, value] of Object.entries(user.attributes)) {
    if (BUILT_IN.has(name) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
    const v = attributeValue(value);
    if (v !== undefined) out[`${USER_PREFIX}${name}`] = v;
  }
  return out;
}
