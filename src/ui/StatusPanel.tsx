import { useTranslation } from 'react-i18next';
import { useAppStore } from './store.ts';
import { announcedProgress } from './announced-progress.ts';

const BACKEND_LABELS = { webgpu: 'WebGPU', wasm: 'WASM' } as const;

export function StatusPanel() {
  const { t } = useTranslation();
  const backend = useAppStore((s) => s.backend);
  const reason = useAppStore((s) => s.backendReason);
  const modelId = useAppStore((s) => s.modelId);
  const progress = useAppStore((s) => s.progress);
  const error = useAppStore((s) => s.error);
  const notice = useAppStore((s) => s.notice);
  const waiting = useAppStore((s) => s.phase === 'loading');
  const applyUpdate = useAppStore((s) => s.applyUpdate);
  const generating = useAppStore((s) => s.phase === 'generating');

  return (
    <section className="status">
      <p className="visually-hidden" aria-live="polite" data-testid="status.announced">
        {announcedProgress(progress, t)}
      </p>
      {(backend || waiting) && (
        <p data-testid="status.backend" className="backend">
          {backend ? `${BACKEND_LABELS[backend]} · ${reason}` : t('status.choosingBackend')}
        </p>
      )}
      {modelId && (
        <p data-testid="status.model" className="backend" role="status">
          {t('status.model', { id: modelId })}
          {/* Synthetic checkpoints (npm run export -- --random …) have the real architecture but untrained weights. */}
          {modelId.startsWith('random-') && t('status.randomWeights')}
        </p>
      )}
      {progress && (
        <div data-testid="status.progress" className="progress">
          <progress max={1} {...(progress.fraction === null ? {} : { value: progress.fraction })} />
          <span>{progress.label}</span>
        </div>
      )}
      {applyUpdate && (
        <p data-testid="status.update" className="confirmation" role="status">
          {t('update.ready')} {/* Not mid-drawing: the reload would throw the drawing away. */}
          <button type="button" data-testid="status.update-reload" onClick={applyUpdate} disabled={generating}>
            {t('update.reload')}
          </button>
        </p>
      )}
      {notice && (
        <p data-testid="status.notice" className="confirmation" role="status">
          {notice}
        </p>
      )}
      {error && (
        <p data-testid="status.error" className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
