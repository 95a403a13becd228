/**
 * The collectors writing into the trace store (GET /api/collectors, from their heartbeat rows): per collector an
 * up/down badge, its state and last update ("5 s ago", ticking), readings in and stored, journal bytes, the trace
 * store as the collector sees it, open alarms, the last error, and a table of its drivers. Refreshed every 5 s
 * in place (no reload); a failed refresh keeps the last answer and says so. Admins (collectors.manage) can remove
 * a collector that is down, after a confirmation (DELETE /api/collectors/:id).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { apiJson } from '../api';
import { useI18n, type Key, type Translate } from '../i18n';
import { can, useSession } from '../session';
import type { CollectorInfo } from '../types';

const REFRESH_MS = 5000;

const STATE_KEYS: Record<string, Key> = {
  running: 'state.running',
  full: 'state.full',
  stopping: 'state.stopping',
  stopped: 'state.stopped',
  starting: 'state.starting',
  connected: 'state.connected',
  reconnecting: 'state.reconnecting',
  error: 'state.error',
  unknown: 'state.unknown',
};
const STORE_KEYS: Record<string, Key> = { up: 'state.storeUp', down: 'state.storeDown', unknown: 'state.unknown' };

const word = (t: Translate, keys: Record<string, Key>, v: string) => (keys[v] ? t(keys[v]) : v);

function ago(t: Translate, ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return t('collectors.agoSeconds', { n: s });
  if (s < 7200) return t('collectors.agoMinutes', { n: Math.floor(s / 60) });
  if (s < 48 * 3600) return t('collectors.agoHours', { n: Math.floor(s / 3600) });
  return t('collectors.agoDays', { n: Math.floor(s / 86400) });
}

function bytes(n: number, locale: string): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toLocaleString(locale, { maximumFractionDigits: u === 0 ? 0 : 1 })} ${units[u]}`;
}

/** A driver's badge colour: green connected, red failed or stopped, yellow on the way; grey when the collector is down (last known). */
function driverBadge(up: boolean, state: string): string {
  if (!up) return '';
  if (state === 'connected') return 'up';
  if (state === 'error' || state === 'stopped') return 'down';
  return 'warn';
}

const shortTime = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

interface Answer {
  collectors: CollectorInfo[];
  /** performance.now() when it arrived: ages grow from there. */
  at: number;
}

export function CollectorsPage() {
  const { t, lang } = useI18n();
  const { me } = useSession();
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [, setTick] = useState(0);
  const allowed = can(me, 'collectors.read');
  const mayRemove = can(me, 'collectors.manage');
  const [removing, setRemoving] = useState<string | null>(null);
  const reload = useRef<() => void>(() => {});
  const locale = lang === 'zh' ? 'zh-CN' : 'en-US';
  const num = (n: number) => n.toLocaleString(locale);

  useEffect(() => {
    document.title = `${t('collectors.title')} — TraceReport`;
  }, [t]);

  useEffect(() => {
    if (!allowed) return;
    let live = true;
    let busy = false;
    const load = () => {
      if (busy) return;
      busy = true;
      apiJson<{ collectors: CollectorInfo[] }>('GET', '/api/collectors')
        .then((r) => {
          if (!live) return;
          setAnswer({ collectors: r.collectors, at: performance.now() });
          setError(null);
        })
        .catch((e: Error) => live && setError(e.message))
        .finally(() => (busy = false));
    };
    reload.current = load;
    load();
    const refresh = window.setInterval(load, REFRESH_MS);
    // "5 s ago" keeps counting between refreshes.
    const tick = window.setInterval(() => setTick((n) => n + 1), 1000);
    return () => {
      live = false;
      window.clearInterval(refresh);
      window.clearInterval(tick);
    };
  }, [allowed]);

  const remove = useCallback(
    (id: string) => {
      if (!window.confirm(t('collectors.removeConfirm', { id }))) return;
      setRemoving(id);
      apiJson<{ deleted: string }>('DELETE', `/api/collectors/${encodeURIComponent(id)}`)
        .then(() => {
          setAnswer((a) => (a ? { ...a, collectors: a.collectors.filter((c) => c.id !== id) } : a));
          setError(null);
        })
        .catch((e: Error) => setError(e.message))
        .finally(() => {
          setRemoving(null);
          reload.current();
        });
    },
    [t],
  );

  if (!allowed) return <main className="page">{t('app.notFound')}</main>;

  const since = answer ? performance.now() - answer.at : 0;

  return (
    <main className="page collectors">
      <h1>{t('collectors.title')}</h1>
      <p className="muted">{t('collectors.intro')}</p>
      {error &&
        (answer ? (
          <p className="notice" role="status" data-testid="collectors-error">
            {t('collectors.refreshFailed', { message: error })}
          </p>
        ) : (
          <p className="error" role="alert" data-testid="collectors-error">
            {error}
          </p>
        ))}
      {!answer && !error && <p className="loading">{t('app.loading')}</p>}
      {answer && answer.collectors.length === 0 && (
        <p className="muted" data-testid="collectors-none">
          {t('collectors.none')}
        </p>
      )}
      {answer?.collectors.map((c) => {
        const p = c.pipeline;
        return (
          <section key={c.id} className="collector" data-testid="collector" data-id={c.id} data-up={c.up ? 'true' : 'false'}>
            <h2>
              <span className={`badge ${c.up ? 'up' : 'down'}`} data-testid="collector-badge">
                {c.up ? t('collectors.up') : t('collectors.down')}
              </span>{' '}
              <span className="collector-id">{c.id}</span>
              {mayRemove && !c.up && (
                <button type="button" className="collector-remove" data-testid="collector-remove" disabled={removing === c.id} onClick={() => remove(c.id)}>
                  {t('collectors.remove')}
                </button>
              )}
            </h2>
            <p className="muted collector-meta">
              <span data-testid="collector-updated">{t('collectors.updated', { ago: ago(t, c.ageMs + since) })}</span>
              {' · '}
              {t('collectors.host', { host: c.host, pid: c.pid, started: shortTime(c.startedAt) })}
              {c.clockOffsetMs !== undefined && (
                <>
                  {' · '}
                  <span className="warn-text" data-testid="collector-clock">
                    {t(c.clockOffsetMs > 0 ? 'collectors.clockBehind' : 'collectors.clockAhead', { n: num(Math.round(Math.abs(c.clockOffsetMs) / 1000)) })}
                  </span>
                </>
              )}
            </p>
            <dl className="figures">
              <div>
                <dt>{t('collectors.state')}</dt>
                <dd data-testid="collector-state">
                  {!c.up && c.state !== 'stopped' ? t('collectors.lastReported', { state: word(t, STATE_KEYS, c.state) }) : word(t, STATE_KEYS, c.state)}
                </dd>
              </div>
              <div>
                <dt>{t('collectors.readingsIn')}</dt>
                <dd data-testid="collector-readings-in">{num(p.readingsIn)}</dd>
              </div>
              <div>
                <dt>{t('collectors.written')}</dt>
                <dd data-testid="collector-written">{num(p.written)}</dd>
              </div>
              <div>
                <dt>{t('collectors.journal')}</dt>
                <dd data-testid="collector-journal">{bytes(p.journalBytes, locale)}</dd>
              </div>
              <div>
                <dt>{t('collectors.store')}</dt>
                <dd data-testid="collector-store" className={p.db === 'down' ? 'bad' : undefined}>
                  {word(t, STORE_KEYS, p.db)}
                </dd>
              </div>
              <div>
                <dt>{t('collectors.openAlarms')}</dt>
                <dd>{num(c.rules.openAlarms)}</dd>
              </div>
            </dl>
            {p.lastError && (
              <p className="error" data-testid="collector-error">
                {t('collectors.lastError')}: {p.lastError}
                {p.lastErrorAt ? ` (${shortTime(p.lastErrorAt)})` : ''}
              </p>
            )}
            {c.drivers.length === 0 ? (
              <p className="muted">{t('collectors.noDrivers')}</p>
            ) : (
              <div className="table-scroll">
                <table className="grid" data-testid="collector-drivers">
                  <thead>
                    <tr>
                      <th>{t('collectors.driver')}</th>
                      <th>{t('collectors.type')}</th>
                      <th>{t('collectors.state')}</th>
                      <th>{t('collectors.readings')}</th>
                      <th>{t('collectors.reconnects')}</th>
                      <th>{t('collectors.lastError')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {c.drivers.map((d) => (
                      <tr key={d.name} data-testid="driver-row" data-driver={d.name} data-state={d.state}>
                        <td className="nowrap">{d.name}</td>
                        <td className="nowrap">{d.type}</td>
                        <td className="nowrap">
                          <span className={`badge ${driverBadge(c.up, d.state)}`}>{word(t, STATE_KEYS, d.state)}</span>
                        </td>
                        <td className="num" data-testid="driver-readings">
                          {num(d.readings)}
                        </td>
                        <td className="num">{num(d.reconnects)}</td>
                        <td>{d.lastError ?? ''}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        );
      })}
    </main>
  );
}
