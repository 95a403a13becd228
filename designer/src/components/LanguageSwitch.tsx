/** English / 中文: the choice is remembered in this browser. */
import { LANGS, useI18n, type Lang } from '../i18n';

export function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <select className="lang" aria-label={t('nav.language')} value={lang} onChange={(e) => setLang(e.target.value as Lang)} data-testid="language">
      {LANGS.map((l) => (
        <option key={l.lang} value={l.lang}>
          {l.name}
        </option>
      ))}
    </select>
  );
}
