/**
 * The widget's URL parameters (docs/embedding.md), read once at start:
 * `model`, `prompt`, `images` (1–9), `seed`, `theme` (auto | light | dark), `origins` (parents
 * trusted with the postMessage API) and `backend`. A value the widget cannot use is reported in
 * `problems`, in words, and the default is used instead: a typo never breaks the widget.
 */
import { MAX_SEED, parseSeed, SeedError } from '../../core/seed.ts';
import { MAX_PROMPT_CHARS } from '../../text/prompt-checks.ts';
import { MAX_IMAGES } from '../../worker/protocol.ts';
import { t } from '../i18n.ts';
import { readUrlOptions } from '../url-params.ts';
import type { UrlOptions } from '../url-params.ts';
import { MAX_ORIGINS, parseTrustedOrigins } from './embed-api.ts';

export const THEMES = ['auto', 'light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];

/** A compact widget: four images unless `images=` says otherwise. */
export const DEFAULT_EMBED_IMAGES = 4;

export interface EmbedOptions extends Omit<UrlOptions, 'problem'> {
  readonly prompt: string;
  readonly count: number;
  /** Null: a new random seed for each drawing. */
  readonly seed: number | null;
  readonly theme: Theme;
  readonly trustedOrigins: readonly string[];
  readonly problems: readonly string[];
}

export function readEmbedOptions(search: string): EmbedOptions {
  const params = new URLSearchParams(search);
  const { problem, ...url } = readUrlOptions(search);
  const problems: string[] = problem === undefined ? [] : [problem];

  const promptChars = [...(params.get('prompt') ?? '')];
  const prompt = promptChars.slice(0, MAX_PROMPT_CHARS).join('');
  if (promptChars.length > MAX_PROMPT_CHARS)
    problems.push(t('embed.promptCut', { length: promptChars.length, max: MAX_PROMPT_CHARS }));

  let count = DEFAULT_EMBED_IMAGES;
  const images = params.get('images');
  if (images !== null && images !== '') {
    const n = Number(images);
    if (Number.isInteger(n) && n >= 1 && n <= MAX_IMAGES) count = n;
    else problems.push(t('embed.badImages', { value: images.slice(0, 20), max: MAX_IMAGES, count }));
  }

  let seed: number | null = null;
  const seedText = params.get('seed');
  if (seedText !== null && seedText !== '' && seedText !== 'random') {
    try {
      seed = parseSeed(seedText);
    } catch (error) {
      if (!(error instanceof SeedError)) throw error;
      problems.push(t('embed.badSeed', { value: seedText.slice(0, 20), max: MAX_SEED }));
    }
  }

  const themeText = params.get('theme') ?? 'auto';
  const theme = (THEMES as readonly string[]).includes(themeText) ? (themeText as Theme) : 'auto';
  if (theme !== themeText)
    problems.push(t('embed.badTheme', { value: themeText.slice(0, 20), themes: THEMES.join(', ') }));

  const origins = parseTrustedOrigins(params.getAll('origins').join(','));
  for (const entry of origins.refused)
    problems.push(t('embed.badOrigin', { value: JSON.stringify(entry.slice(0, 80)) }));
  if (origins.overLimit.length > 0)
    problems.push(t('embed.tooManyOrigins', { max: MAX_ORIGINS, value: origins.overLimit[0] }));
  return {
    ...url,
    prompt,
    count,
    seed,
    theme,
    trustedOrigins: origins.origins,
    problems,
  };
}
