import { useAppStore } from './store.ts';

const BACKEND_LABELS = { webgpu: 'WebGPU', wasm: 'WASM' } as const;

export function StatusPanel() {
  const backend = useAppStore((s) => s.backend);
  const reason = useAppStore((s) => s.backendReason);
  const modelId = useAppStore((s) => s.modelId);
  const progress = useAppStore((s) => s.progress);
  const error = useAppStore((s) => s.error);
  const waiting = useAppStore((s) => s.phase === 'loading');

  return (
    <section className="status" aria-live="polite">
      {(backend || waiting) && (
        <p data-testid="status.backend" className="backend">
          {backend ? `${BACKEND_LABELS[backend]} · ${reason}` : 'Choosing a backend…'}
        </p>
      )}
      {modelId && (
        <p data-testid="status.model" className="backend">
          Model {modelId}
          {/* Synthetic checkpoints (npm run export -- --random …) have the real architecture but untrained weights. */}
          {modelId.startsWith('random-') && ' · random demo weights: expect colourful noise, not pictures'}
        </p>
      )}
      {progress && (
        <div data-testid="status.progress" className="progress">
          <progress max={1} {...(progress.fraction === null ? {} : { value: progress.fraction })} />
          <span>{progress.label}</span>
        </div>
      )}
      {error && (
        <p data-testid="status.error" className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
