/** The top bar: the pages the user's roles may use, who is logged in with which roles, language, logout. */
import { useI18n, type Key } from '../i18n';
import { Link, useLocation } from '../router';
import { can, useSession } from '../session';
import { LanguageSwitch } from './LanguageSwitch';

const ROLE_KEYS: Record<string, Key> = {
  admin: 'role.admin',
  designer: 'role.designer',
  viewer: 'role.viewer',
  operator: 'role.operator',
  auditor: 'role.auditor',
};

export function Header() {
  const { t } = useI18n();
  const { me, logout } = useSession();
  const { path } = useLocation();
  const roles = me.user.roles.map((r) => (ROLE_KEYS[r] ? t(ROLE_KEYS[r]) : r)).join(', ');
  const active = (p: boolean) => (p ? 'active' : undefined);
  return (
    <header className="topbar">
      <Link href="/" className="brand">
        {t('app.name')}
      </Link>
      <nav className="nav">
        <Link href="/" className={active(path === '/' || path.startsWith('/reports/') || path.startsWith('/view/'))}>
          {t('nav.home')}
        </Link>
        {can(me, 'audit.read') && (
          <Link href="/audit" className={active(path.startsWith('/audit'))} data-testid="nav-audit">
            {t('nav.audit')}
          </Link>
        )}
        {can(me, 'collectors.read') && (
          <Link href="/collectors" className={active(path.startsWith('/collectors'))} data-testid="nav-collectors">
            {t('nav.collectors')}
          </Link>
        )}
      </nav>
      <div className="who">
        <span className="user" title={t('nav.user', { user: me.user.username })} data-testid="user">
          {me.user.displayName ?? me.user.username}
          <span className="roles" data-testid="roles">
            {roles}
          </span>
        </span>
        <LanguageSwitch />
        <button type="button" onClick={() => void logout()} data-testid="logout">
          {t('nav.logout')}
        </button>
      </div>
    </header>
  );
}
