/** The folders the user may view (GET /api/folders) with their reports (GET /api/templates). */
import { useEffect, useState } from 'react';
import { apiJson } from '../api';
import { useI18n } from '../i18n';
import { Link } from '../router';
import { can, useSession } from '../session';
import type { Folder, TemplateInfo } from '../types';

export function HomePage() {
  const { t } = useI18n();
  const { me } = useSession();
  const [data, setData] = useState<{ folders: Folder[]; templates: TemplateInfo[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const mayRun = can(me, 'reports.view');
  const mayList = can(me, 'templates.read');

  useEffect(() => {
    document.title = t('app.name');
  }, [t]);

  useEffect(() => {
    let live = true;
    Promise.all([apiJson<{ folders: Folder[] }>('GET', '/api/folders'), mayList ? apiJson<{ templates: TemplateInfo[] }>('GET', '/api/templates') : { templates: [] }])
      .then(([f, tp]) => live && setData({ folders: f.folders, templates: tp.templates }))
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [mayList]);

  return (
    <main className="page home">
      <h1>{t('home.title')}</h1>
      {error && <p className="error">{error}</p>}
      {!data && !error && <p className="loading">{t('app.loading')}</p>}
      {data && data.folders.length === 0 && <p>{t('home.empty')}</p>}
      {data && !mayRun && data.templates.length > 0 && <p className="notice">{t('home.viewOnlyNote')}</p>}
      {data?.folders.map((f) => {
        const inFolder = data.templates.filter((tp) => tp.folderId === f.id);
        return (
          <section key={f.id} className="folder" data-testid="folder">
            <h2>{f.name}</h2>
            {inFolder.length === 0 ? (
              <p className="muted">{t('home.folderEmpty')}</p>
            ) : (
              <ul className="reports">
                {inFolder.map((tp) => (
                  <li key={tp.id}>
                    {mayRun ? (
                      <Link href={`/reports/${tp.id}`} className="report-link">
                        {tp.name}
                      </Link>
                    ) : (
                      <span className="report-link disabled">{tp.name}</span>
                    )}
                    <span className="kind">{tp.kind}</span>
                  </li>
                ))}
              </ul>
            )}
          </section>
        );
      })}
    </main>
  );
}
