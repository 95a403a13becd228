/** Folders of templates and their grants (view, export, edit) to roles or users. */
import type { Knex } from 'knex';
import { TraceReportError } from '../../datasources/errors.js';
import { nowIso } from './open.js';
import type { User } from './users.js';

export const GRANTS = ['view', 'export', 'edit'] as const;
export type Grant = (typeof GRANTS)[number];

export interface Folder {
  id: number;
  name: string;
}

export interface FolderGrant {
  subjectKind: 'role' | 'user';
  subject: string;
  permission: Grant;
}

export async function listFolders(knex: Knex): Promise<Folder[]> {
  const rows = (await knex('srv_folder').orderBy('name').select('id', 'name')) as Folder[];
  return rows.map((r) => ({ id: Number(r.id), name: r.name }));
}

export async function getFolder(knex: Knex, id: number): Promise<Folder | null> {
  const r = (await knex('srv_folder').where({ id }).first('id', 'name')) as Folder | undefined;
  return r ? { id: Number(r.id), name: r.name } : null;
}

export async function findFolderByName(knex: Knex, name: string): Promise<Folder | null> {
  const r = (await knex('srv_folder').where({ name }).first('id', 'name')) as Folder | undefined;
  return r ? { id: Number(r.id), name: r.name } : null;
}

export async function createFolder(knex: Knex, name: string): Promise<Folder> {
  if (!name.trim() || name.length > 200) throw new TraceReportError('BODY_INVALID', 'folder name: 1–200 characters', { path: '$.name' });
  if (await findFolderByName(knex, name)) throw new TraceReportError('CONFLICT', `a folder named "${name}" exists`);
  await knex('srv_folder').insert({ name, created_at: nowIso() });
  return (await findFolderByName(knex, name))!;
}

export async function listGrants(knex: Knex, folderId: number): Promise<FolderGrant[]> {
  const rows = (await knex('srv_folder_grant').where({ folder_id: folderId }).orderBy(['subject_kind', 'subject', 'permission'])) as {
    subject_kind: 'role' | 'user';
    subject: string;
    permission: Grant;
  }[];
  return rows.map((r) => ({ subjectKind: r.subject_kind, subject: r.subject, permission: r.permission }));
}

/** Replaces the grants of a folder. */
export async function setGrants(knex: Knex, folderId: number, grants: FolderGrant[]): Promise<void> {
  await knex.transaction(async (trx) => {
    await trx('srv_folder_grant').where({ folder_id: folderId }).delete();
    const unique = new Map(grants.map((g) => [`${g.subjectKind}\u0000${g.subject}\u0000${g.permission}`, g]));
    if (unique.size) {
      await trx('srv_folder_grant').insert([...unique.values()].map((g) => ({ folder_id: folderId, subject_kind: g.subjectKind, subject: g.subject, permission: g.permission })));
    }
  });
}

/** What a user may do in a folder: admins everything; others what their roles and name are granted. */
export async function grantsFor(knex: Knex, user: User, folderId: number): Promise<Set<Grant>> {
  if (user.roles.includes('admin')) return new Set(GRANTS);
  const rows = (await knex('srv_folder_grant')
    .where({ folder_id: folderId })
    .andWhere((q) => q.where((w) => w.where('subject_kind', 'role').whereIn('subject', user.roles)).orWhere((w) => w.where('subject_kind', 'user').where('subject', user.username)))
    .select('permission')) as { permission: Grant }[];
  const out = new Set(rows.map((r) => r.permission));
  // Edit and export imply view.
  if (out.size) out.add('view');
  return out;
}
