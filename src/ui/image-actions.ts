/**
 * What a visitor does with a finished drawing: open an image large, download it or the whole grid
 * as PNG, copy it, copy the share link. Each reads the store and reports back into it.
 */
import { t } from './i18n.ts';
import { copyPng, fileName, gridPng, imagePng, saveFile } from './image-files.ts';
import { useAppStore } from './store.ts';
import type { Drawing } from './store.ts';
import { shareUrl } from './url-params.ts';

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The finished drawing and its images; null while one is being drawn or none is there. */
function finished(): { drawing: Drawing; images: readonly Uint8ClampedArray[]; size: number } | null {
  const { drawing, images, tokens, imageSize, phase } = useAppStore.getState();
  if (!drawing || phase === 'generating' || tokens.length !== drawing.count) return null;
  return { drawing, images, size: imageSize };
}

async function report(action: () => Promise<void>, done: string | null, failed: string): Promise<void> {
  useAppStore.setState({ notice: null });
  try {
    await action();
    if (done !== null) useAppStore.setState({ notice: done, error: null });
  } catch (error) {
    useAppStore.setState({ error: `${failed} ${messageOf(error)}` });
  }
}

export function openViewer(index: number): void {
  if (finished()) useAppStore.setState({ viewer: index });
}

export function closeViewer(): void {
  useAppStore.setState({ viewer: null });
}

/** Next (+1) or previous (−1) image in the viewer, round the grid. */
export function stepViewer(delta: number): void {
  const { viewer, images } = useAppStore.getState();
  if (viewer === null || images.length === 0) return;
  useAppStore.setState({ viewer: (viewer + delta + images.length) % images.length });
}

export function downloadImage(index: number): Promise<void> {
  return report(
    async () => {
      const shown = finished();
      const rgba = shown?.images[index];
      if (!shown || !rgba) return;
      saveFile(await imagePng(rgba, shown.size), fileName(shown.drawing.prompt, shown.drawing.seed, String(index + 1)));
    },
    null,
    t('actions.downloadFailed'),
  );
}

export function downloadGrid(): Promise<void> {
  return report(
    async () => {
      const shown = finished();
      if (!shown) return;
      saveFile(await gridPng(shown.images, shown.size), fileName(shown.drawing.prompt, shown.drawing.seed, 'grid'));
    },
    null,
    t('actions.downloadFailed'),
  );
}

export function copyImage(index: number): Promise<void> {
  const shown = finished();
  const rgba = shown?.images[index];
  if (!shown || !rgba) return Promise.resolve();
  return report(() => copyPng(imagePng(rgba, shown.size)), t('actions.imageCopied'), t('actions.copyFailed'));
}

export async function copyShareLink(): Promise<void> {
  const shown = finished();
  if (!shown) return;
  // The app's page, also from the embed widget (embed.html sits beside it): a shared drawing opens in the full app.
  const link = shareUrl(new URL('./', location.href).href, shown.drawing);
  useAppStore.setState({ notice: null });
  try {
    await navigator.clipboard.writeText(link);
    useAppStore.setState({ notice: t('actions.linkCopied'), error: null });
  } catch {
    // No clipboard (an insecure origin, a refused permission): the link itself, to copy by hand.
    useAppStore.setState({ error: t('actions.linkCopyFailed', { link }) });
  }
}
