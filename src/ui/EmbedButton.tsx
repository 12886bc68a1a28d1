/**
 * "Embed": the `<iframe>` snippet for the widget with the page's current model, prompt and settings (the seed when
 * locked).
 */
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { embedUrl, iframeSnippet } from './embed/embed-snippet.ts';
import { parseSeedText, seedTextProblem } from './seed-text.ts';
import { activeModel, effectiveSampling } from './sampling-choice.ts';
import { useAppStore } from './store.ts';

export function EmbedButton() {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [copied, setCopied] = useState<string | null>(null);
  const model = useAppStore((s) => s.selectedModel);
  const prompt = useAppStore((s) => s.prompt);
  const settings = useAppStore((s) => s.settings);
  const suggesting = useAppStore(activeModel);
  const panelId = useId();
  // An unlocked seed changes with every Draw: the widget then picks its own, as the page does.
  const seed =
    settings.seedLocked && seedTextProblem(settings.seedText) === null ? parseSeedText(settings.seedText) : null;
  const snippet = iframeSnippet(
    embedUrl(document.baseURI, {
      model,
      prompt,
      count: settings.count,
      seed,
      sampling: effectiveSampling(settings, suggesting),
      theme: 'auto',
    }),
    t('embed.frameTitle'),
  );

  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(snippet);
      setCopied(t('embed.copied'));
    } catch {
      setCopied(t('embed.copyFailed'));
    }
  };

  return (
    <div className="embed-code">
      <button
        type="button"
        data-testid="embed.open"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen(!open)}
      >
        {t('embed.open')}
      </button>
      {open && (
        <div className="panel" id={panelId} data-testid="embed.panel">
          <label>
            <span>{t('embed.instructions')}</span>
            <textarea
              data-testid="embed.snippet"
              readOnly
              rows={4}
              value={snippet}
              onFocus={(e) => e.target.select()}
            />
          </label>
          <div className="actions">
            <button type="button" data-testid="embed.copy" onClick={() => void copy()}>
              {t('embed.copy')}
            </button>
            <span role="status">{copied}</span>
          </div>
        </div>
      )}
    </div>
  );
}
