/**
 * The drawing settings, each with a line saying what it does, and "reset to defaults" (the sampling settings then
 * follow the model's suggestions again); a note when the browser would not store them.
 */
import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { MAX_IMAGES } from '../worker/protocol.ts';
import type { Controller } from './controller.ts';
import { SamplingField } from './SamplingField.tsx';
import { SeedField } from './SeedField.tsx';
import { BACKEND_CHOICES } from './settings.ts';
import type { BackendChoice } from './settings.ts';
import { resetSettings, setSettings, useAppStore } from './store.ts';

const IMAGE_COUNTS = Array.from({ length: MAX_IMAGES }, (_, i) => i + 1);
const BACKEND_LABELS = {
  auto: 'settings.backendAuto',
  webgpu: 'settings.backendWebgpu',
  wasm: 'settings.backendWasm',
} as const satisfies Record<BackendChoice, string>;

function ImageCountField({ disabled }: { readonly disabled: boolean }) {
  const { t } = useTranslation();
  const id = useId();
  const count = useAppStore((s) => s.settings.count);
  return (
    <div className="field">
      <label htmlFor={id}>{t('prompt.images')}</label>
      <select
        id={id}
        data-testid="prompt.count"
        value={count}
        disabled={disabled}
        aria-describedby={`${id}-hint`}
        onChange={(e) => setSettings({ count: Number(e.target.value) })}
      >
        {IMAGE_COUNTS.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
      <small id={`${id}-hint`} className="hint">
        {t('settings.countHint')}
      </small>
    </div>
  );
}

function BackendField({ controller, disabled }: { readonly controller: Controller; readonly disabled: boolean }) {
  const { t } = useTranslation();
  const id = useId();
  const backend = useAppStore((s) => s.settings.backend);
  return (
    <div className="field">
      <label htmlFor={id}>{t('settings.backend')}</label>
      <select
        id={id}
        data-testid="settings.backend"
        value={backend}
        disabled={disabled}
        aria-describedby={`${id}-hint`}
        onChange={(e) => {
          const choice = BACKEND_CHOICES.find((c) => c === e.target.value);
          if (choice) void controller.selectBackend(choice);
        }}
      >
        {BACKEND_CHOICES.map((choice) => (
          <option key={choice} value={choice}>
            {t(BACKEND_LABELS[choice])}
          </option>
        ))}
      </select>
      <small id={`${id}-hint`} className="hint">
        {t('settings.backendHint')}
      </small>
    </div>
  );
}

export function SettingsPanel({ controller }: { readonly controller: Controller }) {
  const { t } = useTranslation();
  const generating = useAppStore((s) => s.phase === 'generating');
  const downloading = useAppStore((s) => s.download !== null);
  const unsaved = useAppStore((s) => s.settingsUnsaved);
  return (
    <section className="panel settings" data-testid="settings.panel" aria-labelledby="settings-title">
      <h2 id="settings-title">{t('settings.title')}</h2>
      {unsaved !== null && (
        <p data-testid="settings.unsaved" className="notice" role="status">
          {unsaved === 'full' ? t('settings.unsavedFull') : t('settings.unsavedRefused')}
        </p>
      )}
      <div className="fields">
        <ImageCountField disabled={generating} />
        <SeedField disabled={generating} />
        <BackendField controller={controller} disabled={generating || downloading} />
      </div>
      <details className="sampling">
        <summary>{t('settings.sampling')}</summary>
        <div className="fields">
          <SamplingField
            name="conditionScale"
            label={t('settings.conditionScale')}
            hint={t('settings.conditionScaleHint')}
            disabled={generating}
          />
          <SamplingField name="topK" label={t('settings.topK')} hint={t('settings.topKHint')} disabled={generating} />
          <SamplingField name="topP" label={t('settings.topP')} hint={t('settings.topPHint')} disabled={generating} />
          <SamplingField
            name="temperature"
            label={t('settings.temperature')}
            hint={t('settings.temperatureHint')}
            disabled={generating}
          />
        </div>
      </details>
      <button type="button" data-testid="settings.reset" disabled={generating} onClick={resetSettings}>
        {t('settings.reset')}
      </button>
    </section>
  );
}
