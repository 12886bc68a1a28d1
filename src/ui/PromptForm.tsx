import type { FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { MAX_IMAGES } from '../worker/protocol.ts';
import type { Controller } from './controller.ts';
import { seedTextProblem } from './seed-text.ts';
import { setPrompt, setSettings, useAppStore } from './store.ts';

const IMAGE_COUNTS = Array.from({ length: MAX_IMAGES }, (_, i) => i + 1);

export function PromptForm({ controller }: { readonly controller: Controller }) {
  const { t } = useTranslation();
  const prompt = useAppStore((s) => s.prompt);
  const phase = useAppStore((s) => s.phase);
  const count = useAppStore((s) => s.settings.count);
  const seedText = useAppStore((s) => s.settings.seedText);
  const seedProblem = seedTextProblem(seedText);
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
      <label>
        <span>{t('prompt.images')}</span>
        <select
          data-testid="prompt.count"
          value={count}
          onChange={(e) => setSettings({ count: Number(e.target.value) })}
          disabled={generating}
        >
          {IMAGE_COUNTS.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>{t('prompt.seed')}</span>
        {/* Text, not type="number": a number input rounds long seeds before we could refuse them. */}
        <input
          data-testid="prompt.seed"
          className="seed"
          type="text"
          inputMode="numeric"
          autoComplete="off"
          value={seedText}
          aria-invalid={seedProblem !== null}
          aria-describedby={seedProblem === null ? undefined : 'seed-problem'}
          onChange={(e) => setSettings({ seedText: e.target.value })}
          disabled={generating}
        />
      </label>
      <button data-testid="prompt.submit" type="submit" disabled={phase !== 'ready'}>
        {t('prompt.draw')}
      </button>
      <button data-testid="prompt.cancel" type="button" onClick={() => controller.cancel()} disabled={!generating}>
        {t('prompt.cancel')}
      </button>
      {seedProblem !== null && (
        <p id="seed-problem" data-testid="prompt.seed-problem" className="field-problem error" role="alert">
          {seedProblem}
        </p>
      )}
    </form>
  );
}
