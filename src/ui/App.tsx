import { useTranslation } from 'react-i18next';
import type { Controller } from './controller.ts';
import { EmbedButton } from './EmbedButton.tsx';
import type { HistoryActions } from './history/history-actions.ts';
import { HistoryPanel } from './history/HistoryPanel.tsx';
import { ImageGrid } from './ImageGrid.tsx';
import { ImageViewer } from './ImageViewer.tsx';
import { LanguageSwitch } from './LanguageSwitch.tsx';
import { ModelPanel } from './ModelPanel.tsx';
import { PromptForm } from './PromptForm.tsx';
import { RankingPanel } from './RankingPanel.tsx';
import { SettingsPanel } from './SettingsPanel.tsx';
import { StatusPanel } from './StatusPanel.tsx';
import { StorageNotice, StoragePanel } from './StoragePanel.tsx';
import { ExamplePrompts, WasmNotice } from './Welcome.tsx';

export function App({
  controller,
  history,
  catalogUrl,
}: {
  readonly controller: Controller;
  readonly history: HistoryActions;
  readonly catalogUrl: string;
}) {
  const { t } = useTranslation();
  return (
    <main className="app">
      <header className="app-header">
        <div>
          <h1>{t('app.title')}</h1>
          <p className="tagline">{t('app.tagline')}</p>
        </div>
        <LanguageSwitch />
      </header>
      <ModelPanel controller={controller} catalogUrl={catalogUrl} />
      <StorageNotice />
      <WasmNotice />
      <PromptForm controller={controller} />
      <ExamplePrompts />
      <RankingPanel controller={controller} />
      <StatusPanel />
      <ImageGrid />
      <ImageViewer controller={controller} />
      <EmbedButton />
      <SettingsPanel controller={controller} />
      <HistoryPanel history={history} />
      <StoragePanel controller={controller} />
    </main>
  );
}
