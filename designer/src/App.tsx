/**
 * The viewer: checks the session (GET /api/auth/me), shows the login page when there is none (and
 * comes back to the asked-for address after login), else the header and the page for the address.
 */
import { useCallback, useEffect, useState } from 'react';
import { apiJson, onAuthRequired, setCsrfToken } from './api';
import { Header } from './components/Header';
import { useI18n } from './i18n';
import { AuditPage } from './pages/AuditPage';
import { CollectorsPage } from './pages/CollectorsPage';
import { HomePage } from './pages/HomePage';
import { LoginPage, loginPath } from './pages/LoginPage';
import { ReportPage } from './pages/ReportPage';
import { here, Link, navigate, useLocation, type Location } from './router';
import { loadMe, Session } from './session';
import type { Me, User } from './types';

function Page({ loc }: { loc: Location }) {
  const { t } = useI18n();
  const report = /^\/reports\/(\d+)\/?$/.exec(loc.path);
  const view = /^\/view\/([^/]+)\/?$/.exec(loc.path);
  // A new history entry (link, breadcrumb, back) remounts the report page; its own URL rewrites do not.
  if (report) return <ReportPage key={loc.state.id} reportRef={report[1]!} />;
  if (view) return <ReportPage key={loc.state.id} reportRef={decodeURIComponent(view[1]!)} />;
  if (/^\/audit\/?$/.test(loc.path)) return <AuditPage />;
  if (/^\/collectors\/?$/.test(loc.path)) return <CollectorsPage />;
  if (loc.path === '/') return <HomePage />;
  return (
    <main className="page">
      <p>{t('app.notFound')}</p>
      <Link href="/">{t('app.backHome')}</Link>
    </main>
  );
}

export function App() {
  const loc = useLocation();
  const { t } = useI18n();
  // undefined: still asking the server; null: no session.
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [expired, setExpired] = useState(false);

  useEffect(() => {
    onAuthRequired(() => {
      setMe(null);
      setExpired(true);
    });
    let live = true;
    apiJson<{ user: User; csrfToken: string }>('GET', '/api/auth/me')
      .then(loadMe)
      .then((m) => live && setMe(m))
      .catch(() => live && setMe(null));
    return () => {
      live = false;
      onAuthRequired(null);
    };
  }, []);

  // Without a session every address shows the login page, which returns there afterwards.
  useEffect(() => {
    if (me === null && loc.path !== '/login') navigate(loginPath(here()), { replace: true });
  }, [me, loc.path]);

  const logout = useCallback(async () => {
    try {
      await apiJson('POST', '/api/auth/logout');
    } finally {
      setCsrfToken(null);
      setExpired(false);
      setMe(null);
      navigate('/login', { replace: true });
    }
  }, []);

  if (me === undefined) return <p className="page loading">{t('app.loading')}</p>;
  if (loc.path === '/login' || me === null) {
    return (
      <LoginPage
        expired={expired}
        onLogin={(m) => {
          setExpired(false);
          setMe(m);
        }}
      />
    );
  }
  return (
    <Session.Provider value={{ me, logout }}>
      <Header />
      <Page loc={loc} />
    </Session.Provider>
  );
}
