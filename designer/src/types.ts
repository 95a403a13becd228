/** The JSON the viewer reads from the server (docs/api.md); parameter types come from the template schema. */
import type { TemplateParameter } from '../../renderer/template/schema';

export interface User {
  id: number;
  username: string;
  displayName: string | null;
  roles: string[];
}

export interface Me {
  user: User;
  csrfToken: string;
  permissions: string[];
}

export interface Folder {
  id: number;
  name: string;
  grants: string[];
}

export interface TemplateInfo {
  id: number;
  folderId: number;
  name: string;
  kind: string;
  version: number;
  updatedAt: string;
}

export interface ResolvedReport {
  template: TemplateInfo;
  folder: { id: number; name: string } | null;
  grants: string[];
}

export type JsonScalar = string | number | boolean;
export type Localized = TemplateParameter['label'];

export interface PanelParameter {
  name: string;
  type: TemplateParameter['type'];
  label: Localized | null;
  widget: TemplateParameter['widget'] | null;
  multi: boolean;
  required: boolean;
  value: JsonScalar | JsonScalar[] | null;
  options: { value: JsonScalar | null; label: string }[] | null;
  error: { code: string; message: string } | null;
}

export interface RenderWarning {
  code: string;
  message: string;
  sheet?: string;
  cell?: string;
}

export interface HtmlPage {
  template: number;
  version: number;
  page: number;
  pages: number;
  complete: boolean;
  html: string;
  meta: { mode: 'full' | 'streaming'; warnings: RenderWarning[]; rowCounts: Record<string, number>; outputRows: Record<string, number> };
}

export interface AuditRow {
  seq: number;
  at: string;
  user: string | null;
  address: string | null;
  action: string;
  object: string | null;
  params: unknown;
  before: unknown;
  after: unknown;
  hash: string;
}

export interface AuditVerify {
  ok: boolean;
  rows: number;
  head: { seq: number; hash: string };
  problems: { seq: number; kind: string; message: string }[];
}

/** A parameter value as the panel holds it: text, a list, a checkbox, or nothing. */
export type Value = string | string[] | boolean | null;
export type Values = Record<string, Value>;
/** Parameter values as sent to the server and written into the URL. */
export type Params = Record<string, string | string[] | boolean>;

/** One collector as GET /api/collectors shows it (from its heartbeat row in the trace store). */
export interface CollectorInfo {
  id: string;
  host: string;
  pid: number;
  /** Heartbeat within 3 intervals and not stopped. */
  up: boolean;
  state: string;
  startedAt: string;
  updatedAt: string;
  /** Milliseconds since the last heartbeat, by the server's clock when it answered (a collector clock's offset taken out). */
  ageMs: number;
  /** The server's clock minus the collector's (positive: the collector's is behind), when beyond 10 s. */
  clockOffsetMs?: number;
  intervalMs: number;
  drivers: { name: string; type: string; state: string; lastError?: string; readings: number; lastReadingAt?: string; reconnects: number }[];
  pipeline: {
    state: string;
    readingsIn: number;
    written: number;
    duplicates: number;
    refused: number;
    rejected: number;
    alarmsWritten: number;
    journalBytes: number;
    db: string;
    lastError?: string;
    lastErrorAt?: string;
    lastWriteAt?: string;
  };
  rules: { enabled: boolean; openAlarms: number; alarmChanges: number };
}
