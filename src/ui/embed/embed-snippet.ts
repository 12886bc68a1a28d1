/** The copy-paste `<iframe>` for the widget, from the settings the visitor has on the page. */
import type { SamplingSettings } from '../../pipeline/sampler.ts';
import { shareUrl } from '../url-params.ts';
import type { Theme } from './embed-params.ts';

export interface EmbedSettings {
  /** A catalog id; null: the site's default model. */
  readonly model: string | null;
  readonly prompt: string;
  readonly count: number;
  /** Null: a new random seed for each drawing. */
  readonly seed: number | null;
  readonly sampling: SamplingSettings;
  readonly theme: Theme;
}

/** Room for the prompt row, the notices and status lines, and a 2×2 grid of images. */
export const EMBED_WIDTH = 400;
export const EMBED_HEIGHT = 720;

/**
 * The widget's address: `embed.html` beside the app (`appUrl`), with the share link's parameters for these settings.
 */
export function embedUrl(appUrl: string, settings: EmbedSettings): string {
  const { model, prompt, count, seed, sampling, theme } = settings;
  const page = new URL('embed.html', appUrl).href;
  const url = new URL(shareUrl(page, { prompt: prompt.trim(), seed: seed ?? 0, count, sampling, model, modelId: '' }));
  if (seed === null) url.searchParams.delete('seed');
  if (prompt.trim() === '') url.searchParams.delete('prompt');
  // The widget does not rank with CLIP: its links need no ranking choice.
  url.searchParams.delete('rank');
  if (theme !== 'auto') url.searchParams.set('theme', theme);
  return url.href;
}

function attribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/**
 * The snippet: lazy, so readers who never scroll to it download nothing; `allow="cross-origin-isolated"`
 * lets a cross-origin-isolated page give the widget WASM threads (elsewhere it runs on one); `clipboard-write` lets
 * its copy buttons work (a cross-origin frame has no clipboard unless allowed).
 */
export function iframeSnippet(src: string, title: string): string {
  return (
    `<iframe src="${attribute(src)}" title="${attribute(title)}" ` +
    `width="${EMBED_WIDTH}" height="${EMBED_HEIGHT}" style="border:0;max-width:100%" ` +
    `allow="cross-origin-isolated; clipboard-write" loading="lazy"></iframe>`
  );
}
