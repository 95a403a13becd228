/**
 * The audit trail for auditors (GET /api/audit): filters (user, action, from, to), newest first,
 * paged by `before=<seq>`, before/after of changes; "verify chain" (GET /api/audit/verify) and
 * "export CSV" (GET /api/audit/csv with the same filters).
 */
import { useEffect, useState, type FormEvent } from 'react';
import { apiDownload, apiJson, saveFile } from '../api';
import { useI18n } from '../i18n';
import { can, useSession } from '../session';
import type { AuditRow, AuditVerify } from '../types';

const PAGE_SIZE = 50;

interface Filters {
  user: string;
  action: string;
  /** yyyy-mm-dd */
  from: string;
  to: string;
}

const EMPTY: Filters = { user: '', action: '', from: '', to: '' };

/** Actions the server writes, offered as suggestions (any text may be typed). */
const ACTIONS = [
  'login',
  'login.failed',
  'login.blocked',
  'logout',
  'report.view',
  'report.export',
  'trace',
  'template.create',
  'template.update',
  'template.delete',
  'template.restore',
  'datasource.create',
  'datasource.update',
  'datasource.delete',
  'datasource.test',
  'folder.create',
  'grant.change',
  'password.change',
  'password.change.failed',
  'user.create',
  'user.update',
  'audit.export',
  'embed.create',
];

/** The query string for the filters: dates as whole days (to inclusive: before the next day starts, UTC). */
function filterQuery(f: Filters): URLSearchParams {
  const q = new URLSearchParams();
  if (f.user.trim()) q.set('user', f.user.trim());
  if (f.action.trim()) q.set('action', f.action.trim());
  if (f.from) q.set('from', `${f.from}T00:00:00.000Z`);
  if (f.to) {
    const next = new Date(`${f.to}T00:00:00.000Z`);
    next.setUTCDate(next.getUTCDate() + 1);
    q.set('to', next.toISOString());
  }
  return q;
}

const json = (v: unknown) => (v === null || v === undefined ? '' : JSON.stringify(v, null, 1));

export function AuditPage() {
  const { t } = useI18n();
  const { me } = useSession();
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  /** `before` cursors of the pages shown so far; the last is the current page (null: newest). */
  const [cursors, setCursors] = useState<(number | null)[]>([null]);
  const [rows, setRows] = useState<AuditRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [verify, setVerify] = useState<AuditVerify | null>(null);
  const [verifying, setVerifying] = useState(false);
  const [exporting, setExporting] = useState(false);
  const before = cursors[cursors.length - 1] ?? null;

  useEffect(() => {
    document.title = `${t('audit.title')} — TraceReport`;
  }, [t]);

  const allowed = can(me, 'audit.read');

  useEffect(() => {
    if (!allowed) return;
    let live = true;
    const q = filterQuery(filters);
    q.set('limit', String(PAGE_SIZE));
    if (before !== null) q.set('before', String(before));
    setRows(null);
    setError(null);
    apiJson<{ rows: AuditRow[] }>('GET', `/api/audit?${q}`)
      .then((r) => live && setRows(r.rows))
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [filters, before, allowed]);

  if (!allowed) return <main className="page">{t('app.notFound')}</main>;

  function apply(e: FormEvent) {
    e.preventDefault();
    setFilters(draft);
    setCursors([null]);
  }

  async function runVerify() {
    setVerifying(true);
    setVerify(null);
    setError(null);
    try {
      setVerify(await apiJson<AuditVerify>('GET', '/api/audit/verify'));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setVerifying(false);
    }
  }

  async function exportCsv() {
    setExporting(true);
    setError(null);
    try {
      const { blob, filename } = await apiDownload('GET', `/api/audit/csv?${filterQuery(filters)}`, undefined, 'audit.csv');
      saveFile(blob, filename);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setExporting(false);
    }
  }

  const first = (cursors.length - 1) * PAGE_SIZE + 1;

  return (
    <main className="page audit">
      <h1>{t('audit.title')}</h1>
      <form className="filters" onSubmit={apply} data-testid="audit-filters">
        <label className="field">
          <span>{t('audit.user')}</span>
          <input name="user" value={draft.user} autoCapitalize="none" onChange={(e) => setDraft({ ...draft, user: e.target.value })} />
        </label>
        <label className="field">
          <span>{t('audit.action')}</span>
          <input name="action" list="audit-actions" value={draft.action} autoCapitalize="none" onChange={(e) => setDraft({ ...draft, action: e.target.value })} />
          <datalist id="audit-actions">
            {ACTIONS.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </label>
        <label className="field">
          <span>{t('audit.from')}</span>
          <input name="from" type="date" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
        </label>
        <label className="field">
          <span>{t('audit.to')}</span>
          <input name="to" type="date" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        </label>
        <div className="actions">
          <button type="submit" className="primary" data-testid="audit-apply">
            {t('audit.apply')}
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft(EMPTY);
              setFilters(EMPTY);
              setCursors([null]);
            }}
          >
            {t('audit.clear')}
          </button>
        </div>
      </form>

      <div className="audit-tools">
        <button type="button" onClick={() => void runVerify()} disabled={verifying} data-testid="audit-verify">
          {verifying ? t('audit.verifying') : t('audit.verify')}
        </button>
        <button type="button" onClick={() => void exportCsv()} disabled={exporting} data-testid="audit-csv">
          {t('audit.exportCsv')}
        </button>
      </div>
      {verify &&
        (verify.ok ? (
          <p className="ok" role="status" data-testid="verify-result">
            {t('audit.verifyOk', { rows: verify.rows })}
          </p>
        ) : (
          <div className="error" role="alert" data-testid="verify-result">
            {t('audit.verifyBad', { count: verify.problems.length })}
            <ul className="problems">
              {verify.problems.map((p, i) => (
                <li key={i}>
                  #{p.seq} {p.kind}: {p.message}
                </li>
              ))}
            </ul>
          </div>
        ))}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}

      {rows === null && !error && <p className="loading">{t('app.loading')}</p>}
      {rows && rows.length === 0 && <p className="muted">{t('audit.none')}</p>}
      {rows && rows.length > 0 && (
        <>
          <div className="table-scroll">
            <table className="grid" data-testid="audit-rows">
              <thead>
                <tr>
                  <th>{t('audit.seq')}</th>
                  <th>{t('audit.at')}</th>
                  <th>{t('audit.user')}</th>
                  <th>{t('audit.address')}</th>
                  <th>{t('audit.action')}</th>
                  <th>{t('audit.object')}</th>
                  <th>{t('audit.params')}</th>
                  <th>{t('audit.changes')}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.seq} data-action={r.action}>
                    <td className="num">{r.seq}</td>
                    <td className="nowrap">{r.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</td>
                    <td>{r.user}</td>
                    <td>{r.address}</td>
                    <td className="nowrap">{r.action}</td>
                    <td>{r.object}</td>
                    <td className="json">{r.params === null ? '' : JSON.stringify(r.params)}</td>
                    <td>
                      {(r.before !== null || r.after !== null) && (
                        <details>
                          <summary>
                            {t('audit.before')} / {t('audit.after')}
                          </summary>
                          {r.before !== null && (
                            <>
                              <strong>{t('audit.before')}</strong>
                              <pre>{json(r.before)}</pre>
                            </>
                          )}
                          {r.after !== null && (
                            <>
                              <strong>{t('audit.after')}</strong>
                              <pre>{json(r.after)}</pre>
                            </>
                          )}
                        </details>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label={t('audit.title')}>
            <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors([null])}>
              {t('audit.newest')}
            </button>
            <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))} data-testid="audit-newer">
              {t('audit.newer')}
            </button>
            <span className="status" data-testid="audit-range">
              {t('audit.rowsShown', { first, last: first + rows.length - 1 })}
            </span>
            <button type="button" disabled={rows.length < PAGE_SIZE} onClick={() => setCursors([...cursors, rows[rows.length - 1]!.seq])} data-testid="audit-older">
              {t('audit.older')}
            </button>
          </nav>
        </>
      )}
    </main>
  );
}
