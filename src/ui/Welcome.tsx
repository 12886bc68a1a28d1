/**
 * For first-time visitors: the active model's example prompts to start from (English: the models read English only);
 * and for everyone without WebGPU, a plain word that drawing runs on the processor, slower, and how to speed it up.
 */
import { useTranslation } from 'react-i18next';
import { setPrompt, setSettings, useAppStore } from './store.ts';

const NO_EXAMPLES: readonly string[] = [];

/**
 * The active model's example prompts (its catalog entry's `examples`): the demo's coloured shapes, a real model's
 * scenes. Not translated, because the models understand English only.
 */
export function ExamplePrompts() {
  const { t } = useTranslation();
  const firstVisit = useAppStore((s) => s.history.length === 0 && s.drawing === null);
  const generating = useAppStore((s) => s.phase === 'generating');
  const examples = useAppStore((s) => s.catalog.find((model) => model.id === s.selectedModel)?.examples ?? NO_EXAMPLES);
  if (!firstVisit || examples.length === 0) return null;
  return (
    <div className="examples" data-testid="examples">
      <p className="hint">{t('examples.intro')}</p>
      <ul>
        {examples.map((prompt) => (
          <li key={prompt}>
            <button type="button" lang="en" disabled={generating} onClick={() => setPrompt(prompt)}>
              {prompt}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function WasmNotice() {
  const { t } = useTranslation();
  const onWasm = useAppStore((s) => s.backend === 'wasm' && s.settings.backend === 'auto');
  const reason = useAppStore((s) => s.backendReason);
  const count = useAppStore((s) => s.settings.count);
  if (!onWasm) return null;
  return (
    <p className="notice" role="status" data-testid="notice.wasm">
      {t('examples.noWebgpu', { reason })}{' '}
      {count > 4 && (
        <button type="button" className="link-button" onClick={() => setSettings({ count: 4 })}>
          {t('examples.fewerImages')}
        </button>
      )}
    </p>
  );
}
