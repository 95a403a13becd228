/** The drill-down trail: each report with its key parameter; an earlier one goes back to it (its parameters and page). */
import { useI18n } from '../i18n';

export interface Crumb {
  /** The report's address: path, parameters, and #page=N. */
  url: string;
  name?: string;
  key?: string;
}

export function Breadcrumb({ trail, onGo }: { trail: Crumb[]; onGo(index: number): void }) {
  const { t } = useI18n();
  if (trail.length < 2) return null;
  const text = (c: Crumb) => `${c.name ?? decodeURIComponent(c.url.split(/[?#]/)[0]!.replace(/^\/(view|reports)\//, ''))}${c.key ? ` (${c.key})` : ''}`;
  return (
    <nav aria-label={t('report.trail')}>
      <ol className="crumbs" data-testid="breadcrumb">
        {trail.map((c, i) =>
          i < trail.length - 1 ? (
            <li key={i}>
              <button type="button" onClick={() => onGo(i)} data-testid="crumb">
                {text(c)}
              </button>
            </li>
          ) : (
            <li key={i} aria-current="page" data-testid="crumb-current">
              {text(c)}
            </li>
          ),
        )}
      </ol>
    </nav>
  );
}
