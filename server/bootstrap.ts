/**
 * First start and every start: the first admin (a random password printed once, or
 * TRACEREPORT_ADMIN_PASSWORD), and the built-in templates (templates/*.json) loaded into the
 * "Built-in" folder — new ones added, changed ones saved as a new version unless someone edited them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { builtinTemplatesDir, listBuiltinTemplates } from '../renderer/template/builtin.js';
import { appendAudit } from './audit/chain.js';
import { randomPassword } from './auth/password.js';
import { createFolder, findFolderByName, listGrants, setGrants } from './store/folders.js';
import { countUsers, createUser } from './store/users.js';
import { currentAuthor, currentBodyText, type TemplateStore } from './store/templates.js';
import type { ServerStore } from './store/open.js';

export const ADMIN_PASSWORD_ENV = 'TRACEREPORT_ADMIN_PASSWORD';
export const BUILTIN_FOLDER = 'Built-in';
export const SYSTEM_USER = 'system';

export interface BootstrapResult {
  admin?: { username: string; password?: string; fromEnv: boolean };
  builtin: { folderId: number; added: string[]; updated: string[] };
}

export async function bootstrap(store: ServerStore, templates: TemplateStore, auditKey: Buffer, opts: { adminPassword?: string } = {}): Promise<BootstrapResult> {
  const { knex } = store;
  const result: BootstrapResult = { builtin: { folderId: 0, added: [], updated: [] } };
  const log = (action: string, object: string, extra: Record<string, unknown> = {}) => appendAudit(knex, auditKey, { user: SYSTEM_USER, action, object, ...extra });

  if ((await countUsers(knex)) === 0) {
    const given = opts.adminPassword ?? process.env[ADMIN_PASSWORD_ENV];
    const fromEnv = Boolean(given);
    const password = given || randomPassword();
    const admin = await createUser(knex, { username: 'admin', password, roles: ['admin'], displayName: 'Administrator' });
    await log('user.create', `user:${admin.username}`, { after: { username: admin.username, roles: admin.roles } });
    result.admin = { username: admin.username, password: fromEnv ? undefined : password, fromEnv };
  }

  let folder = await findFolderByName(knex, BUILTIN_FOLDER);
  if (!folder) {
    folder = await createFolder(knex, BUILTIN_FOLDER);
    await log('folder.create', `folder:${folder.id}`, { after: folder });
  }
  if ((await listGrants(knex, folder.id)).length === 0) {
    const grants = [
      ...(['viewer', 'operator', 'designer'] as const).flatMap((role) => (['view', 'export'] as const).map((permission) => ({ subjectKind: 'role' as const, subject: role, permission }))),
      { subjectKind: 'role' as const, subject: 'auditor', permission: 'view' as const },
    ];
    await setGrants(knex, folder.id, grants);
    await log('grant.change', `folder:${folder.id}`, { after: grants });
  }
  result.builtin.folderId = folder.id;

  for (const name of listBuiltinTemplates()) {
    const text = fs.readFileSync(path.join(builtinTemplatesDir(), `${name}.json`), 'utf8');
    const body = JSON.parse(text) as { name: string };
    const existing = await templates.findByName(folder.id, body.name);
    if (!existing) {
      const t = await templates.create(folder.id, body, SYSTEM_USER, `built-in ${name}.json`);
      await log('template.create', `template:${t.id}`, { after: { name: t.name, version: t.version, file: `${name}.json` } });
      result.builtin.added.push(body.name);
    } else if ((await currentAuthor(knex, existing.id)) === SYSTEM_USER && (await currentBodyText(knex, existing.id)) !== JSON.stringify(body)) {
      const { after } = await templates.update(existing.id, body, SYSTEM_USER, `built-in ${name}.json`);
      await log('template.update', `template:${after.id}`, { before: { version: existing.version }, after: { version: after.version, file: `${name}.json` } });
      result.builtin.updated.push(body.name);
    }
  }
  return result;
}
