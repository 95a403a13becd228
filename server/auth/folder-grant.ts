/** The per-folder check done by routes that touch a folder's templates. */
import { TraceReportError } from '../../datasources/errors.js';
import { getFolder, grantsFor, type Grant } from '../store/folders.js';
import type { Services } from '../services.js';
import type { User } from '../store/users.js';

export async function requireGrant(s: Services, user: User, folderId: number, grant: Grant): Promise<void> {
  const folder = await getFolder(s.store.knex, folderId);
  if (!folder) throw new TraceReportError('NOT_FOUND', `no folder with id ${folderId}`, { folderId });
  const grants = await grantsFor(s.store.knex, user, folderId);
  if (!grants.has(grant)) {
    throw new TraceReportError('FORBIDDEN', `you may not ${grant} in folder "${folder.name}"; ask an administrator for a ${grant} grant`, { folderId, grant });
  }
}
