import type { Controller } from './controller.ts';
import { ImageGrid } from './ImageGrid.tsx';
import { PromptForm } from './PromptForm.tsx';
import { StatusPanel } from './StatusPanel.tsx';

export function App({ controller }: { readonly controller: Controller }) {
  return (
    <main className="app">
      <h1>DALL·E Mini</h1>
      <p className="tagline">Text to image, on your own device. Nothing leaves your browser.</p>
      <PromptForm controller={controller} />
      <StatusPanel />
      <ImageGrid />
    </main>
  );
}
