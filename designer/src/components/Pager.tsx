/** First / previous / next / last and "page N of M" ("of at least M" while the count is not known yet). */
import { useI18n } from '../i18n';

export function Pager({ page, pages, complete, busy, onPage }: { page: number; pages: number; complete: boolean; busy: boolean; onPage(page: number): void }) {
  const { t } = useI18n();
  const hasNext = page < pages || !complete;
  return (
    <nav className="pager" aria-label={t('report.pageOf', { page, pages })}>
      <button type="button" onClick={() => onPage(1)} disabled={busy || page <= 1} aria-label={t('report.first')} title={t('report.first')} data-testid="page-first">
        «
      </button>
      <button type="button" onClick={() => onPage(page - 1)} disabled={busy || page <= 1} aria-label={t('report.prev')} title={t('report.prev')} data-testid="page-prev">
        ‹
      </button>
      <span className="status" data-testid="page-status" aria-live="polite">
        {complete ? t('report.pageOf', { page, pages }) : t('report.pageOfAtLeast', { page, pages })}
      </span>
      <button type="button" onClick={() => onPage(page + 1)} disabled={busy || !hasNext} aria-label={t('report.next')} title={t('report.next')} data-testid="page-next">
        ›
      </button>
      <button type="button" onClick={() => onPage(pages)} disabled={busy || page >= pages} aria-label={t('report.last')} title={t('report.last')} data-testid="page-last">
        »
      </button>
    </nav>
  );
}
