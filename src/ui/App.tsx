import { useTranslation } from 'react-i18next';
import type { Controller } from './controller.ts';
import { EmbedButton } from './EmbedButton.tsx';
import { ImageGrid } from './ImageGrid.tsx';
import { LanguageSwitch } from './LanguageSwitch.tsx';
import { ModelPanel } from './ModelPanel.tsx';
import { PromptForm } from './PromptForm.tsx';
import { StatusPanel } from './StatusPanel.tsx';
import { StorageNotice, StoragePanel } from './StoragePanel.tsx';

export function App({ controller, catalogUrl }: { readonly controller: Controller; readonly catalogUrl: string }) {
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
      <PromptForm controller={controller} />
      <StatusPanel />
      <ImageGrid />
      <EmbedButton />
      <StoragePanel controller={controller} />
    </main>
  );
}
