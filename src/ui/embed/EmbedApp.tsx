/**
 * The embed widget: a prompt box, Draw, a small grid, and the model's consent, download and status
 * lines from the app. Count, seed and sampling come from the URL (embed-params.ts); a parent page can also
 * draw through the postMessage API (embed-bridge.ts), which fills the same prompt and grid.
 */
import { useTranslation } from 'react-i18next';
import type { Controller } from '../controller.ts';
import { ImageGrid } from '../ImageGrid.tsx';
import { ImageViewer } from '../ImageViewer.tsx';
import { ModelDownload } from '../ModelPanel.tsx';
import { PromptForm } from '../PromptForm.tsx';
import { StatusPanel } from '../StatusPanel.tsx';
import { useAppStore } from '../store.ts';
import { EmbedStorageNotice } from './EmbedStorageNotice.tsx';

export interface EmbedAppProps {
  readonly controller: Controller;
  /** The app's own page with the widget's model and this prompt. */
  readonly fullPageUrl: (prompt: string) => string;
  /** URL parameters the widget could not use, in words. */
  readonly problems: readonly string[];
}

export function EmbedApp({ controller, fullPageUrl, problems }: EmbedAppProps) {
  const { t } = useTranslation();
  // What the visitor typed goes along: a visitor sent to the full page (storage blocked here) loses nothing.
  const fullPage = fullPageUrl(useAppStore((s) => s.prompt));

  return (
    <main className="embed">
      <h1 className="visually-hidden">{t('app.title')}</h1>
      <PromptForm controller={controller} compact />
      {problems.length > 0 && (
        <ul className="notice embed-problems" data-testid="embed.problems">
          {problems.map((problem) => (
            <li key={problem}>{problem}</li>
          ))}
        </ul>
      )}
      <EmbedStorageNotice controller={controller} fullPageUrl={fullPage} />
      <ModelDownload controller={controller} />
      <StatusPanel />
      <ImageGrid />
      <ImageViewer controller={controller} drawAgainOnce />
      <footer className="embed-footer">
        <a href={fullPage} target="_blank" rel="noopener">
          {t('app.title')}
        </a>{' '}
        {t('embed.footer')}
      </footer>
    </main>
  );
}
