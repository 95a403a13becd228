/**
 * Embed links as issued (srv_embed_link): recorded when made, listed, revoked one by one, and looked up on
 * every use of a token. Parameter values are kept as JSON text.
 */
import type { Knex } from 'knex';

export interface EmbedLink {
  jti: string;
  templateId: number;
  version: number;
  params: Record<string, unknown>;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  revokedAt?: string;
  revokedBy?: string;
}

interface Row {
  jti: string;
  template_id: number;
  version: number;
  params: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  revoked_by: string | null;
}

const TABLE = 'srv_embed_link';

function toLink(r: Row): EmbedLink {
  return {
    jti: r.jti,
    templateId: Number(r.template_id),
    version: Number(r.version),
    params: JSON.parse(r.params) as Record<string, unknown>,
    createdBy: r.created_by,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    ...(r.revoked_at ? { revokedAt: r.revoked_at } : {}),
    ...(r.revoked_by ? { revokedBy: r.revoked_by } : {}),
  };
}

export async function recordEmbedLink(knex: Knex, link: Omit<EmbedLink, 'revokedAt' | 'revokedBy'>): Promise<void> {
  await knex(TABLE).insert({
    jti: link.jti,
    template_id: link.templateId,
    version: link.version,
    params: JSON.stringify(link.params),
    created_by: link.createdBy,
    created_at: link.createdAt,
    expires_at: link.expiresAt,
  });
}

export async function getEmbedLink(knex: Knex, jti: string): Promise<EmbedLink | undefined> {
  const row = (await knex(TABLE).where({ jti }).first()) as Row | undefined;
  return row ? toLink(row) : undefined;
}

/** Links newest first: one maker's, or everyone's; without `all`, only those still usable (neither expired nor revoked). */
export async function listEmbedLinks(knex: Knex, opts: { createdBy?: string; all?: boolean; now?: Date; limit?: number }): Promise<EmbedLink[]> {
  const q = knex(TABLE).orderBy('created_at', 'desc').orderBy('jti').limit(opts.limit ?? 500);
  if (opts.createdBy !== undefined) q.where({ created_by: opts.createdBy });
  if (!opts.all) q.whereNull('revoked_at').andWhere('expires_at', '>', (opts.now ?? new Date()).toISOString());
  return ((await q) as Row[]).map(toLink);
}

/** Marks a link revoked (once: a second revoke keeps the first time); returns the link as it is now. */
export async function revokeEmbedLink(knex: Knex, jti: string, by: string, at = new Date()): Promise<EmbedLink | undefined> {
  await knex(TABLE).where({ jti }).whereNull('revoked_at').update({ revoked_at: at.toISOString(), revoked_by: by });
  return getEmbedLink(knex, jti);
}
