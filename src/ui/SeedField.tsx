/** The seed: shown, typed exactly (seed-text.ts), kept or renewed at every Draw, and a "new seed" button. */
import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { seedTextProblem } from './seed-text.ts';
import { randomSeed } from './settings.ts';
import { setSettings, useAppStore } from './store.ts';

export function SeedField({ disabled }: { readonly disabled: boolean }) {
  const { t } = useTranslation();
  const id = useId();
  const seedText = useAppStore((s) => s.settings.seedText);
  const locked = useAppStore((s) => s.settings.seedLocked);
  const problem = seedTextProblem(seedText);
  return (
    <div className="field seed-field">
      <label htmlFor={id}>{t('prompt.seed')}</label>
      <div className="seed-row">
        {/* Text, not type="number": a number input rounds long seeds before we could refuse them. */}
        <input
          id={id}
          data-testid="prompt.seed"
          className="seed"
          type="text"
          inputMode="numeric"
          autoComplete="off"
          value={seedText}
          disabled={disabled}
          aria-invalid={problem !== null}
          aria-describedby={`${id}-hint`}
          // A seed typed by hand is one the visitor wants: keep it.
          onChange={(e) => setSettings({ seedText: e.target.value, seedLocked: true })}
        />
        <button
          type="button"
          data-testid="settings.newSeed"
          disabled={disabled}
          // The seed shown is the one the next Draw uses: kept, or Draw would replace it at once.
          onClick={() => setSettings({ seedText: String(randomSeed()), seedLocked: true })}
        >
          {t('settings.newSeed')}
        </button>
      </div>
      <label className="check">
        <input
          type="checkbox"
          data-testid="settings.seedLocked"
          checked={locked}
          disabled={disabled}
          onChange={(e) => setSettings({ seedLocked: e.target.checked })}
        />
        {t('settings.seedLock')}
      </label>
      {problem !== null ? (
        <small id={`${id}-hint`} data-testid="prompt.seed-problem" className="hint error" role="alert">
          {problem}
        </small>
      ) : (
        <small id={`${id}-hint`} className="hint">
          {locked ? t('settings.seedHint') : t('settings.seedLockHint')}
        </small>
      )}
    </div>
  );
}
