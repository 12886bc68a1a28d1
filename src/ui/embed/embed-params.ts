/**
 * The widget's URL parameters (docs/embedding.md), read once at start: the app's share-link
 * parameters (`prompt`, `images`, `seed`, `scale`, `top_k`, `top_p`, `temperature`, `model`,
 * `backend`, read by url-params.ts), plus `theme` (auto | light | dark) and `origins` (the parents
 * trusted with the postMessage API). A value the widget cannot use is reported in `problems`, in
 * words, and the default is used instead: a typo never breaks the widget.
 */
import { LANGUAGES, matchLanguage, t } from '../i18n.ts';
import type { BackendChoice, DrawSettings } from '../settings.ts';
import { readUrlOptions } from '../url-params.ts';
import { MAX_ORIGINS, parseTrustedOrigins } from './embed-api.ts';

export const THEMES = ['auto', 'light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];

/** A compact widget: four images unless `images=` says otherwise. */
export const DEFAULT_EMBED_IMAGES = 4;

export interface EmbedOptions {
  readonly model?: string;
  readonly backend?: BackendChoice;
  readonly prompt: string;
  /** The drawing settings the URL sets, as in a share link (a seed comes locked); `count` always. */
  readonly settings: Partial<DrawSettings> & { readonly count: number };
  readonly theme: Theme;
  readonly trustedOrigins: readonly string[];
  readonly problems: readonly string[];
}

export function readEmbedOptions(search: string): EmbedOptions {
  const params = new URLSearchParams(search);
  const { prompt = '', settings, problems: urlProblems, ...picked } = readUrlOptions(search);
  const problems = [...urlProblems];
  // A ranked share link's pictures are CLIP's best of its candidates; the widget does not rank: it would draw others.
  if (settings.rank === true) problems.push(t('embed.noRanking'));

  // The page's language was picked from it already (i18n.ts); one it does not have is only reported.
  const lang = params.get('lang');
  if (lang !== null && matchLanguage(lang) === null)
    problems.push(t('embed.badLang', { value: lang.slice(0, 20), languages: LANGUAGES.join(', ') }));

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
    ...picked,
    prompt,
    settings: { count: DEFAULT_EMBED_IMAGES, ...settings },
    theme,
    trustedOrigins: origins.origins,
    problems,
  };
}
