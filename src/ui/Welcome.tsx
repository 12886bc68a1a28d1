/**
 * For first-time visitors: example prompts to start from (English: the model reads English only);
 * and for everyone without WebGPU, a plain word that drawing runs on the processor, slower, and how to speed it up.
 */
import { useTranslation } from 'react-i18next';
import { setPrompt, setSettings, useAppStore } from './store.ts';

/** Prompts DALL·E Mini draws well; not translated, because the model understands English only. */
export const EXAMPLE_PROMPTS = [
  'an armchair in the shape of an avocado',
  'sunset over a lake in the mountains',
  'a watercolor painting of a fox in the snow',
  'the Eiffel tower on the moon',
  'a cute corgi wearing a chef hat',
] as const;

export function ExamplePrompts() {
  const { t } = useTranslation();
  const firstVisit = useAppStore((s) => s.history.length === 0 && s.drawing === null);
  const generating = useAppStore((s) => s.phase === 'generating');
  if (!firstVisit) return null;
  return (
    <div className="examples" data-testid="examples">
      <p className="hint">{t('examples.intro')}</p>
      <ul>
        {EXAMPLE_PROMPTS.map((prompt) => (
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
