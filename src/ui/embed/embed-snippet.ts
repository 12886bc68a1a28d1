/** The copy-paste `<iframe>` for the widget, from the settings the visitor has on the page. */
import { DEFAULT_EMBED_IMAGES } from './embed-params.ts';
import type { Theme } from './embed-params.ts';

export interface EmbedSettings {
  /** A catalog model id; left out of the URL when null (the site's default model). */
  readonly model: string | null;
  readonly prompt: string;
  readonly count: number;
  /** Null: a new random seed for each drawing. */
  readonly seed: number | null;
  readonly theme: Theme;
}

/** Room for the prompt row, the notices and status lines, and a 2×2 grid of images. */
export const EMBED_WIDTH = 400;
export const EMBED_HEIGHT = 640;

/** The widget's address: `embed.html` beside the app (`appUrl` is the app's own page), with only the non-default settings. */
export function embedUrl(appUrl: string, settings: EmbedSettings): string {
  const url = new URL('embed.html', appUrl);
  if (settings.model !== null) url.searchParams.set('model', settings.model);
  if (settings.prompt.trim() !== '') url.searchParams.set('prompt', settings.prompt.trim());
  if (settings.count !== DEFAULT_EMBED_IMAGES) url.searchParams.set('images', String(settings.count));
  if (settings.seed !== null) url.searchParams.set('seed', String(settings.seed));
  if (settings.theme !== 'auto') url.searchParams.set('theme', settings.theme);
  return url.href;
}

function attribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/**
 * The snippet: lazy, so readers who never scroll to it download nothing; `allow="cross-origin-isolated"`
 * lets a cross-origin-isolated blog give the widget WASM threads (elsewhere it runs on one).
 */
export function iframeSnippet(src: string, title: string): string {
  return (
    `<iframe src="${attribute(src)}" title="${attribute(title)}" ` +
    `width="${EMBED_WIDTH}" height="${EMBED_HEIGHT}" style="border:0;max-width:100%" ` +
    `allow="cross-origin-isolated" loading="lazy"></iframe>`
  );
}
