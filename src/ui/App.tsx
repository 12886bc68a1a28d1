import type { Controller } from './controller.ts';
import { ImageGrid } from './ImageGrid.tsx';
import { ModelPanel } from './ModelPanel.tsx';
import { PromptForm } from './PromptForm.tsx';
import { RankingPanel } from './RankingPanel.tsx';
import { StatusPanel } from './StatusPanel.tsx';
import { StorageNotice, StoragePanel } from './StoragePanel.tsx';

export function App({ controller, catalogUrl }: { readonly controller: Controller; readonly catalogUrl: string }) {
  return (
    <main className="app">
      <h1>DALL·E Mini</h1>
      <p className="tagline">Text to image, on your own device. Nothing leaves your browser.</p>
      <ModelPanel controller={controller} catalogUrl={catalogUrl} />
      <StorageNotice />
      <PromptForm controller={controller} />
      <RankingPanel controller={controller} />
      <StatusPanel />
      <ImageGrid />
      <StoragePanel controller={controller} />
    </main>
  );
}
