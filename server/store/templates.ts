/**
 * Templates in folders with a version history: every save is a new version; restoring a version
 * saves its body as the newest version. Bodies are validated with the template schema on save.
 */
import type { Knex } from 'knex';
import { TraceReportError } from '../../datasources/errors.js';
import { parseTemplate } from '../../renderer/template/load.js';
import type { Template } from '../../renderer/template/schema.js';
import { nowIso } from './open.js';

export interface TemplateInfo {
  id: number;
  folderId: number;
  name: string;
  kind: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface TemplateVersionInfo {
  version: number;
  note: string | null;
  createdBy: string | null;
  createdAt: string;
}

interface Row {
  id: number;
  folder_id: number;
  name: string;
  kind: string;
  current_version: number;
  created_at: string;
  updated_at: string;
}

const info = (r: Row): TemplateInfo => ({
  id: Number(r.id),
  folderId: Number(r.folder_id),
  name: r.name,
  kind: r.kind,
  version: Number(r.current_version),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Parsed versions kept per store (versions never change once saved, so this holds on every node). */
const PARSED_VERSIONS = 256;

/** Freezes an object graph (parsed JSON and the template made from it: plain objects and arrays). */
function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as Record<string, unknown>)) deepFreeze(x);
  }
  return v;
}

export class TemplateStore {
  /**
   * Parsed bodies by "id:version", least recently used first. A saved version is never changed (a save or a restore
   * adds a version), so a cached one is always right; the objects are frozen because every render shares them.
   */
  private readonly parsed = new Map<string, { template: Template; raw: unknown }>();

  constructor(private readonly knex: Knex) {}

  async list(folderIds?: number[]): Promise<TemplateInfo[]> {
    const q = this.knex('srv_template').where({ deleted: false }).orderBy(['folder_id', 'name']);
    if (folderIds) q.whereIn('folder_id', folderIds);
    return ((await q) as Row[]).map(info);
  }

  async get(id: number): Promise<TemplateInfo> {
    const r = (await this.knex('srv_template').where({ id, deleted: false }).first()) as Row | undefined;
    if (!r) throw new TraceReportError('TEMPLATE_NOT_FOUND', `no template with id ${id}`, { id });
    return info(r);
  }

  async findByName(folderId: number, name: string): Promise<TemplateInfo | null> {
    const r = (await this.knex('srv_template').where({ folder_id: folderId, name, deleted: false }).first()) as Row | undefined;
    return r ? info(r) : null;
  }

  /** The body of a version (default: the current one), parsed; frozen (shared by every caller). */
  async body(id: number, version?: number): Promise<{ info: TemplateInfo; version: number; template: Readonly<Template>; raw: unknown }> {
    return this.bodyOf(await this.get(id), version);
  }

  /** {@link body} for a template whose row the caller has just read (a render reads it once for the grant check). */
  async bodyOf(t: TemplateInfo, version?: number): Promise<{ info: TemplateInfo; version: number; template: Readonly<Template>; raw: unknown }> {
    const id = t.id;
    const v = version ?? t.version;
    const key = `${id}:${v}`;
    let hit = this.parsed.get(key);
    if (hit) {
      this.parsed.delete(key);
    } else {
      const row = (await this.knex('srv_template_version').where({ template_id: id, version: v }).first('body')) as { body: string } | undefined;
      if (!row) throw new TraceReportError('NOT_FOUND', `template ${id} has no version ${v}; it has versions 1–${t.version}`, { id, version: v });
      const raw = JSON.parse(row.body) as unknown;
      hit = { template: deepFreeze(parseTemplate(raw, `#${id} v${v}`)), raw: deepFreeze(raw) };
      if (this.parsed.size >= PARSED_VERSIONS) this.parsed.delete(this.parsed.keys().next().value!);
    }
    this.parsed.set(key, hit);
    return { info: t, version: v, ...hit };
  }

  async versions(id: number): Promise<TemplateVersionInfo[]> {
    await this.get(id);
    const rows = (await this.knex('srv_template_version').where({ template_id: id }).orderBy('version', 'desc')) as {
      version: number;
      note: string | null;
      created_by: string | null;
      created_at: string;
    }[];
    return rows.map((r) => ({ version: Number(r.version), note: r.note, createdBy: r.created_by, createdAt: r.created_at }));
  }

  async create(folderId: number, body: unknown, by: string | null, note?: string): Promise<TemplateInfo> {
    const template = parseTemplate(body, 'in the request body');
    if (await this.findByName(folderId, template.name)) {
      throw new TraceReportError('CONFLICT', `folder ${folderId} already has a template named "${template.name}"; update it instead`, { name: template.name });
    }
    const now = nowIso();
    const id = await this.knex.transaction(async (trx) => {
      const [row] = (await trx('srv_template')
        .insert({ folder_id: folderId, name: template.name, kind: template.kind, current_version: 1, created_at: now, updated_at: now })
        .returning('id')) as ({ id: number } | number)[];
      const templateId = typeof row === 'object' ? Number(row.id) : Number(row);
      await trx('srv_template_version').insert({ template_id: templateId, version: 1, body: JSON.stringify(body), note: note ?? null, created_by: by, created_at: now });
      return templateId;
    });
    return this.get(id);
  }

  /** Saves a new version; returns the infos before and after. */
  async update(id: number, body: unknown, by: string | null, note?: string): Promise<{ before: TemplateInfo; after: TemplateInfo }> {
    const template = parseTemplate(body, 'in the request body');
    const before = await this.get(id);
    if (template.name !== before.name) {
      const clash = await this.findByName(before.folderId, template.name);
      if (clash && clash.id !== id) throw new TraceReportError('CONFLICT', `folder ${before.folderId} already has a template named "${template.name}"`);
    }
    const now = nowIso();
    await this.knex.transaction(async (trx) => {
      const cur = (await trx('srv_template').where({ id }).forUpdate().first('current_version')) as { current_version: number };
      const version = Number(cur.current_version) + 1;
      await trx('srv_template_version').insert({ template_id: id, version, body: JSON.stringify(body), note: note ?? null, created_by: by, created_at: now });
      await trx('srv_template').where({ id }).update({ current_version: version, name: template.name, kind: template.kind, updated_at: now });
    });
    return { before, after: await this.get(id) };
  }

  async restore(id: number, version: number, by: string | null): Promise<{ before: TemplateInfo; after: TemplateInfo }> {
    const { raw } = await this.body(id, version);
    return this.update(id, raw, by, `restored version ${version}`);
  }

  async delete(id: number): Promise<TemplateInfo> {
    const t = await this.get(id);
    await this.knex('srv_template').where({ id }).update({ deleted: true, updated_at: nowIso() });
    return t;
  }
}

/** Who saved the current version of a template. */
export async function currentAuthor(knex: Knex, id: number): Promise<string | null> {
  const r = (await knex('srv_template as t')
    .join('srv_template_version as v', function () {
      this.on('v.template_id', '=', 't.id').andOn('v.version', '=', 't.current_version');
    })
    .where('t.id', id)
    .first('v.created_by as by', 'v.body as body')) as { by: string | null } | undefined;
  return r?.by ?? null;
}

/** The stored JSON text of a template's current version. */
export async function currentBodyText(knex: Knex, id: number): Promise<string | null> {
  const r = (await knex('srv_template as t')
    .join('srv_template_version as v', function () {
      this.on('v.template_id', '=', 't.id').andOn('v.version', '=', 't.current_version');
    })
    .where('t.id', id)
    .first('v.body as body')) as { body: string } | undefined;
  return r?.body ?? null;
}
