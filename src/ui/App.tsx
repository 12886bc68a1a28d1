import type { Controller } from './controller.ts';
import { EmbedButton } from './EmbedButton.tsx';
import { ImageGrid } from './ImageGrid.tsx';
import { ModelPanel } from './ModelPanel.tsx';
import { PromptForm } from './PromptForm.tsx';
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
      <StatusPanel />
      <ImageGrid />
      <EmbedButton />
      <StoragePanel controller={controller} />
    </main>
  );
}
