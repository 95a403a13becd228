/** Log in (POST /api/auth/login), then go back to the address that was asked for. */
import { useState, type FormEvent } from 'react';
import { ApiError, apiJson } from '../api';
import { LanguageSwitch } from '../components/LanguageSwitch';
import { useI18n } from '../i18n';
import { getLocation, navigate } from '../router';
import { loadMe } from '../session';
import type { Me, User } from '../types';

/** The login address that returns to `next` afterwards. */
export function loginPath(next: string): string {
  return next === '/' || next.startsWith('/login') ? '/login' : `/login?next=${encodeURIComponent(next)}`;
}

/** Where to go after login: the `next` of the address when it is a path on this site. */
function nextPath(): string {
  const next = new URLSearchParams(getLocation().search).get('next');
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/';
}

export function LoginPage({ onLogin, expired }: { onLogin(me: Me): void; expired: boolean }) {
  const { t } = useI18n();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!username || !password) {
      setError(t('login.missing'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const r = await apiJson<{ user: User; csrfToken: string }>('POST', '/api/auth/login', { username, password });
      const me = await loadMe(r);
      navigate(nextPath(), { replace: true });
      onLogin(me);
    } catch (err) {
      setPassword('');
      if (err instanceof ApiError && err.code === 'LOGIN_FAILED') setError(t('login.wrong'));
      else if (err instanceof ApiError && err.code === 'LOGIN_RATE_LIMITED') setError(t('login.limited', { minutes: Math.max(1, Math.ceil((err.retryAfter ?? 900) / 60)) }));
      else setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <form className="login-box" onSubmit={submit} noValidate>
        <div className="login-head">
          <h1>{t('app.name')}</h1>
          <LanguageSwitch />
        </div>
        <h2>{t('login.title')}</h2>
        {expired && !error && <p className="notice">{t('login.expired')}</p>}
        <label className="field">
          <span>{t('login.username')}</span>
          <input name="username" autoComplete="username" autoCapitalize="none" spellCheck={false} value={username} onChange={(e) => setUsername(e.target.value)} autoFocus />
        </label>
        <label className="field">
          <span>{t('login.password')}</span>
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error && (
          <p className="error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t('login.busy') : t('login.submit')}
        </button>
      </form>
    </main>
  );
}
