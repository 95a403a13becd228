/**
 * One report: `/reports/<id>` or `/view/<report>?name=value…` (a drill-down link; the reference is
 * resolved by GET /api/viewer/reports/:ref). The parameter panel comes from POST
 * /api/reports/:id/parameters with the values in the address (asked again when a value changes:
 * cascading options); Query shows page 1 of POST /api/reports/:id/page; the pager moves through the
 * pages; PDF / Excel / CSV download POST /api/reports/:id/render with the parameters of the page
 * shown. The address always holds the shown parameters and `#page=N`, so a reload, a bookmark, a
 * breadcrumb or browser back shows the same page. A link in the report to another report opens it
 * here with a breadcrumb back. Opened with parameters (or a page) that satisfy every required one,
 * the report runs at once.
 */
import { useEffect, useRef, useState, type MouseEvent } from 'react';
import { ApiError, apiDownload, apiJson, saveFile } from '../api';
import { Breadcrumb, type Crumb } from '../components/Breadcrumb';
import { Pager } from '../components/Pager';
import { ParameterPanel } from '../components/ParameterPanel';
import { useI18n, type Translate } from '../i18n';
import { fromSearch, isEmpty, keyValue, pageFromHash, toParams, toSearch, widgetOf, widgetValue } from '../params';
import { getLocation, here, Link, navigate, useLocation } from '../router';
import type { HtmlPage, PanelParameter, Params, ResolvedReport, Value, Values } from '../types';

type ExportFormat = 'pdf' | 'xlsx' | 'csv';
const EXPORTS: { format: ExportFormat; key: 'report.exportPdf' | 'report.exportXlsx' | 'report.exportCsv' }[] = [
  { format: 'pdf', key: 'report.exportPdf' },
  { format: 'xlsx', key: 'report.exportXlsx' },
  { format: 'csv', key: 'report.exportCsv' },
];

/** The breadcrumb trail stored with the current history entry (just this report when opened directly). */
function currentTrail(): Crumb[] {
  const trail = getLocation().state.trail;
  return Array.isArray(trail) && trail.length > 0 ? (trail as Crumb[]) : [{ url: here() }];
}

/** Rewrites the current entry's address and its crumb (no new history entry, no reload). */
function replaceCrumb(patch: Partial<Crumb>): void {
  const trail = currentTrail();
  const last = { ...trail[trail.length - 1]!, ...patch };
  navigate(last.url, { replace: true, state: { trail: [...trail.slice(0, -1), last] } });
}

/** A per-field message: the catalogue codes in the user's language, the server's text for the rest. */
function fieldMessage(t: Translate, code: string, message: string): string {
  if (code === 'PARAM_MISSING') return t('field.missing');
  if (code === 'PARAM_INVALID') return t('field.invalid', { message });
  return message;
}

async function askPanel(id: number, params: Params): Promise<PanelParameter[]> {
  return (await apiJson<{ parameters: PanelParameter[] }>('POST', `/api/reports/${id}/parameters`, { params })).parameters;
}

export function ReportPage({ reportRef }: { reportRef: string }) {
  const { t } = useI18n();
  useLocation(); // re-render when the crumb trail in the entry's state changes
  const [resolved, setResolved] = useState<ResolvedReport | null>(null);
  const [panel, setPanel] = useState<PanelParameter[] | null>(null);
  const [values, setValuesState] = useState<Values>({});
  const [renderErrors, setRenderErrors] = useState<Record<string, string>>({});
  const [result, setResult] = useState<HtmlPage | null>(null);
  const [shown, setShown] = useState<Params | null>(null);
  const [running, setRunning] = useState(false);
  const [exporting, setExporting] = useState<ExportFormat | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const basePath = useRef(getLocation().path).current;
  const valuesRef = useRef<Values>({});
  const panelRef = useRef<PanelParameter[]>([]);
  /** Parameters the address or the user gave (the others follow the server's defaults). */
  const provided = useRef(new Set<string>());
  const runSeq = useRef(0);
  const panelSeq = useRef(0);
  const lastAsked = useRef('');

  const setValues = (v: Values) => {
    valuesRef.current = v;
    setValuesState(v);
  };

  useEffect(() => {
    if (resolved) document.title = `${resolved.template.name} — TraceReport`;
  }, [resolved]);

  async function run(id: number, params: Params, page: number, opts: { keepOnFail?: boolean; retried?: boolean } = {}): Promise<void> {
    const seq = ++runSeq.current;
    setRunning(true);
    setError(null);
    try {
      const r = await apiJson<HtmlPage>('POST', `/api/reports/${id}/page`, { params, page });
      if (seq !== runSeq.current) return;
      setResult(r);
      setShown(params);
      setRenderErrors({});
      replaceCrumb({ url: `${basePath}${toSearch(params)}#page=${r.page}`, key: keyValue(panelRef.current, params) });
    } catch (e) {
      if (seq !== runSeq.current) return;
      const err = e instanceof ApiError ? e : null;
      const pages = (err?.details as { pages?: unknown } | null)?.pages;
      if (err?.code === 'ARGUMENT_INVALID' && typeof pages === 'number' && pages >= 1 && page > pages && !opts.retried) {
        // A page past the end (the report shrank, or an old address): show the last one.
        await run(id, params, pages, { ...opts, retried: true });
        return;
      }
      if (!opts.keepOnFail) {
        setResult(null);
        setShown(null);
      }
      const missing = (err?.details as { missing?: unknown } | null)?.missing;
      if (err?.code === 'PARAM_MISSING' && Array.isArray(missing)) setRenderErrors(Object.fromEntries(missing.map((m) => [String(m), t('field.missing')])));
      else if (err?.parameter && err.code.startsWith('PARAM_')) setRenderErrors({ [err.parameter]: fieldMessage(t, err.code, err.message) });
      else setError(t('report.failed', { message: e instanceof Error ? e.message : String(e) }));
    } finally {
      if (seq === runSeq.current) setRunning(false);
    }
  }

  // Opening the entry: resolve the report, ask the panel with the address's values, run when they suffice.
  useEffect(() => {
    let live = true;
    const loc = getLocation();
    (async () => {
      try {
        const r = await apiJson<ResolvedReport>('GET', `/api/viewer/reports/${encodeURIComponent(reportRef)}`);
        if (!live) return;
        setResolved(r);
        const given = fromSearch(loc.search);
        let parameters: PanelParameter[];
        try {
          parameters = await askPanel(r.template.id, given);
        } catch (e) {
          const unknown = e instanceof ApiError && e.code === 'PARAM_UNKNOWN' ? (e.details as { unknown?: unknown } | null)?.unknown : undefined;
          if (!Array.isArray(unknown)) throw e;
          for (const name of unknown) delete given[String(name)];
          setNotice(t('report.ignored', { names: unknown.join(', ') }));
          parameters = await askPanel(r.template.id, given);
        }
        if (!live) return;
        const vals: Values = {};
        for (const p of parameters) vals[p.name] = widgetValue(p, p.value ?? (given[p.name] as string | string[] | undefined) ?? null);
        provided.current = new Set(Object.keys(given));
        panelRef.current = parameters;
        setPanel(parameters);
        setValues(vals);
        const params = toParams(parameters, vals);
        lastAsked.current = JSON.stringify(params);
        replaceCrumb({ name: r.template.name, key: keyValue(parameters, params) });
        const page = pageFromHash(loc.hash);
        const requiredGiven = parameters.every((p) => !p.required || params[p.name] !== undefined);
        if (requiredGiven && (page !== null || Object.keys(given).length > 0 || parameters.length === 0)) await run(r.template.id, params, page ?? 1);
      } catch (e) {
        if (live) setError(t('report.failed', { message: e instanceof Error ? e.message : String(e) }));
      }
    })();
    return () => {
      live = false;
      runSeq.current++;
      panelSeq.current++;
    };
    // Mounted once per history entry (App keys this page by the entry).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  /** Asks the panel again with the values so far: dependent options and defaults follow. */
  async function refreshPanel(): Promise<void> {
    if (!resolved) return;
    const params = toParams(panelRef.current, valuesRef.current);
    lastAsked.current = JSON.stringify(params);
    const seq = ++panelSeq.current;
    try {
      const fresh = await askPanel(resolved.template.id, params);
      if (seq !== panelSeq.current) return;
      const next: Values = { ...valuesRef.current };
      for (const p of fresh) {
        const kind = widgetOf(p);
        if (!provided.current.has(p.name)) {
          next[p.name] = widgetValue(p, p.value);
        } else if (p.options && (kind === 'select' || kind === 'multiselect')) {
          // A choice the new options no longer hold (its parent changed) is cleared.
          const allowed = new Set(p.options.map((o) => (o.value === null ? '' : String(o.value))));
          const v = next[p.name];
          if (typeof v === 'string' && v !== '' && !allowed.has(v)) next[p.name] = '';
          else if (Array.isArray(v)) next[p.name] = v.filter((x) => allowed.has(x));
        }
      }
      panelRef.current = fresh;
      setPanel(fresh);
      setValues(next);
    } catch (e) {
      if (seq === panelSeq.current) setError(e instanceof Error ? e.message : String(e));
    }
  }

  function onChange(name: string, value: Value, commit: boolean) {
    if (isEmpty(value)) provided.current.delete(name);
    else provided.current.add(name);
    setValues({ ...valuesRef.current, [name]: value });
    // The field's old error goes with the old value (the panel's comes back if the new one is wrong too).
    if (panelRef.current.some((p) => p.name === name && p.error)) {
      panelRef.current = panelRef.current.map((p) => (p.name === name ? { ...p, error: null } : p));
      setPanel(panelRef.current);
    }
    setRenderErrors((errs) => {
      if (!(name in errs)) return errs;
      const rest = { ...errs };
      delete rest[name];
      return rest;
    });
    if (commit) void refreshPanel();
  }

  function onCommit() {
    if (JSON.stringify(toParams(panelRef.current, valuesRef.current)) !== lastAsked.current) void refreshPanel();
  }

  function query() {
    if (!resolved) return;
    void run(resolved.template.id, toParams(panelRef.current, valuesRef.current), 1);
  }

  function goPage(page: number) {
    if (!resolved || !shown) return;
    void run(resolved.template.id, shown, page, { keepOnFail: true });
  }

  async function exportAs(format: ExportFormat) {
    if (!resolved || !shown) return;
    setExporting(format);
    setError(null);
    try {
      const { blob, filename } = await apiDownload('POST', `/api/reports/${resolved.template.id}/render`, { params: shown, format }, `${resolved.template.name}.${format}`);
      saveFile(blob, filename);
    } catch (e) {
      setError(t('report.failed', { message: e instanceof Error ? e.message : String(e) }));
    } finally {
      setExporting(null);
    }
  }

  /** A link to another report (`/view/<report>?…`) opens it here, one crumb further. */
  function onReportClick(e: MouseEvent<HTMLDivElement>) {
    const a = (e.target as Element).closest('a');
    if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const url = new URL(a.href, window.location.href);
    if (url.origin !== window.location.origin || !url.pathname.startsWith('/view/')) return;
    e.preventDefault();
    const to = url.pathname + url.search;
    navigate(to, { state: { trail: [...currentTrail(), { url: to }] } });
  }

  function goCrumb(index: number) {
    const trail = currentTrail();
    navigate(trail[index]!.url, { state: { trail: trail.slice(0, index + 1) } });
  }

  const fieldErrors: Record<string, string> = {};
  for (const p of panel ?? []) if (p.error) fieldErrors[p.name] = fieldMessage(t, p.error.code, p.error.message);
  Object.assign(fieldErrors, renderErrors);
  const mayExport = resolved?.grants.includes('export') ?? false;

  return (
    <main className="page report">
      <Breadcrumb trail={currentTrail()} onGo={goCrumb} />
      <h1 data-testid="report-title">{resolved?.template.name ?? (error ? reportRef : t('app.loading'))}</h1>
      {notice && <p className="notice">{notice}</p>}
      {error && (
        <div className="error" role="alert" data-testid="report-error">
          {error}
          {!resolved && (
            <p>
              <Link href="/">{t('app.backHome')}</Link>
            </p>
          )}
        </div>
      )}
      {panel && (
        <ParameterPanel parameters={panel} values={values} errors={fieldErrors} running={running} onChange={onChange} onCommit={onCommit} onSubmit={query} />
      )}
      {result && (
        <section className="result" aria-busy={running}>
          <div className="toolbar">
            <Pager page={result.page} pages={result.pages} complete={result.complete} busy={running} onPage={goPage} />
            {mayExport && (
              <div className="exports" role="group" aria-label={t('report.export')}>
                {EXPORTS.map(({ format, key }) => (
                  <button key={format} type="button" onClick={() => void exportAs(format)} disabled={exporting !== null || running} data-testid={`export-${format}`}>
                    {exporting === format ? t('report.exporting', { format: t(key) }) : t(key)}
                  </button>
                ))}
              </div>
            )}
          </div>
          {result.meta.warnings.length > 0 && (
            <div className="notice warnings" data-testid="warnings">
              <strong>{t('report.warnings')}</strong>
              <ul>
                {result.meta.warnings.map((w, i) => (
                  <li key={i}>
                    {w.sheet ? `${w.sheet}${w.cell ? `!${w.cell}` : ''}: ` : ''}
                    {w.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
          <div className="report-scroll" data-testid="report" onClick={onReportClick} dangerouslySetInnerHTML={{ __html: result.html }} />
        </section>
      )}
      {!result && panel && !running && !error && Object.keys(renderErrors).length === 0 && <p className="muted">{t('report.notRun')}</p>}
      {running && !result && <p className="loading">{t('report.running')}</p>}
    </main>
  );
}
