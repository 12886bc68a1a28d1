/** The prompt, Draw and Cancel; the settings that shape the drawing live in SettingsPanel. */
import type { FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Controller } from './controller.ts';
import { setPrompt, useAppStore } from './store.ts';

export function PromptForm({ controller }: { readonly controller: Controller }) {
  const { t } = useTranslation();
  const prompt = useAppStore((s) => s.prompt);
  const phase = useAppStore((s) => s.phase);
  const generating = phase === 'generating';

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    void controller.draw();
  };

  return (
    <form className="prompt" onSubmit={submit}>
      <label className="prompt-text">
        <span>{t('prompt.label')}</span>
        <input
          data-testid="prompt.input"
          value={prompt}
          placeholder={t('prompt.placeholder')}
          onChange={(e) => setPrompt(e.target.value)}
          disabled={generating}
        />
      </label>
      <button data-testid="prompt.submit" type="submit" disabled={phase !== 'ready'}>
        {t('prompt.draw')}
      </button>
      <button data-testid="prompt.cancel" type="button" onClick={() => controller.cancel()} disabled={!generating}>
        {t('prompt.cancel')}
      </button>
    </form>
  );
}
