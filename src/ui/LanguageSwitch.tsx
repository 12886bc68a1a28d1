/** The language switch: each language named in itself, so a visitor finds theirs whatever is shown. */
import { useTranslation } from 'react-i18next';
import { currentLanguage, LANGUAGE_NAMES, LANGUAGES } from './i18n.ts';
import type { Language } from './i18n.ts';
import { switchLanguage } from './language-messages.ts';

function isLanguage(value: string): value is Language {
  return (LANGUAGES as readonly string[]).includes(value);
}

export function LanguageSwitch() {
  const { t } = useTranslation(); // Also re-renders on a change of language.
  return (
    <label className="language">
      <span>{t('language.label')}</span>
      <select
        data-testid="language.select"
        value={currentLanguage()}
        onChange={(e) => isLanguage(e.target.value) && switchLanguage(e.target.value)}
      >
        {LANGUAGES.map((language) => (
          <option key={language} value={language} lang={language}>
            {LANGUAGE_NAMES[language]}
          </option>
        ))}
      </select>
    </label>
  );
}
