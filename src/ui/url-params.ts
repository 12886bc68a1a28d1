/**
 * The page URL's parameters. A share link carries what draws a grid again anywhere: `prompt`,
 * `seed`, `images`, `scale` (condition scale), `top_k`, `top_p`, `temperature`, `model` (a
 * catalog id) and `rank=on|off` with `candidates` (CLIP's best `images` of `candidates`).
 * `?backend=wasm|webgpu|auto` forces a backend (the e2e tests use it) and `?lang=` a language
 * (i18n.ts). Every value is checked; one that is not understood is named in a message and the
 * setting keeps its current value.
 */
import { MAX_PROMPT_CHARS } from '../text/prompt-checks.ts';
import { MAX_SEED, seedOf } from '../core/seed.ts';
import { BACKENDS, isBackendName } from '../worker/protocol.ts';
import { t } from './i18n.ts';
import { isModelId, isValidNumber, NUMBER_RULES } from './settings.ts';
import type { BackendChoice, DrawSettings, NumberSetting } from './settings.ts';
import type { Drawing } from './store.ts';

export interface UrlOptions {
  readonly backend?: BackendChoice;
  readonly model?: string;
  readonly prompt?: string;
  /** The drawing settings the link sets (a seed comes locked: the link means that seed). */
  readonly settings: Partial<DrawSettings>;
  /** One message per parameter we could not use, empty when all were fine. */
  readonly problems: readonly string[];
}

/** The URL name of each numeric setting. */
const NUMBER_PARAMS: Readonly<Record<NumberSetting, string>> = {
  count: 'images',
  conditionScale: 'scale',
  topK: 'top_k',
  topP: 'top_p',
  temperature: 'temperature',
  candidates: 'candidates',
};

/** Shown in a message: what was in the URL, cut short. */
function shown(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/**
 * Decimal notation ("0.9", "50"), with the exponent String() writes for small numbers ("1e-7": a share link's
 * scale of 0.0000001); Number() alone would also take "0x10", "Infinity" and "".
 */
function parseDecimal(text: string): number {
  return /^-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?$/i.test(text.trim()) ? Number(text) : NaN;
}

export function readUrlOptions(search: string): UrlOptions {
  const params = new URLSearchParams(search);
  const problems: string[] = [];
  const settings: { -readonly [K in keyof DrawSettings]?: DrawSettings[K] } = {};
  const problem = (name: string, value: string, expected: string): void => {
    problems.push(t('errors.badParam', { name, value: shown(value), expected }));
  };

  for (const [setting, name] of Object.entries(NUMBER_PARAMS) as [NumberSetting, string][]) {
    const text = params.get(name);
    if (text === null) continue;
    const rule = NUMBER_RULES[setting];
    const value = parseDecimal(text);
    if (isValidNumber(rule, value)) settings[setting] = value;
    else
      problem(
        name,
        text,
        t(rule.integer ? 'settings.wholeNumberRange' : 'settings.numberRange', {
          min: rule.min,
          max: rule.max,
        }),
      );
  }

  const seed = params.get('seed');
  if (seed !== null) {
    // The seed field's rule: "0042" is seed 42, as typed there.
    const parsed = seedOf(seed);
    if (parsed !== undefined) {
      settings.seedText = String(parsed);
      settings.seedLocked = true;
    } else problem('seed', seed, t('seed.range', { max: MAX_SEED }));
  }

  const prompt = params.get('prompt') ?? undefined;
  if (prompt !== undefined && [...prompt].length > MAX_PROMPT_CHARS) {
    problem('prompt', prompt, t('errors.promptLength', { max: MAX_PROMPT_CHARS }));
  }
  const usablePrompt = prompt !== undefined && [...prompt].length <= MAX_PROMPT_CHARS ? { prompt } : {};

  const model = params.get('model') || undefined;
  if (model !== undefined && !isModelId(model)) problem('model', model, t('errors.modelIdExpected'));
  const usableModel = model !== undefined && isModelId(model) ? { model } : {};

  const backend = params.get('backend');
  let usableBackend: { backend?: BackendChoice } = {};
  if (backend === 'auto' || (backend !== null && isBackendName(backend))) usableBackend = { backend };
  else if (backend !== null && backend !== '') problem('backend', backend, ['auto', ...BACKENDS].join(' / '));

  // `rank=on|off`: CLIP ranking on or off, whatever the device's default.
  const rank = params.get('rank');
  if (rank === 'on' || rank === 'off') settings.rank = rank === 'on';
  else if (rank !== null && rank !== '') problem('rank', rank, t('errors.onOrOff'));

  return { ...usablePrompt, ...usableModel, ...usableBackend, settings, problems };
}

/**
 * The share link of a drawing: the page's own address with exactly the parameters that draw it again. The sampling
 * numbers are the ones drawn with, explicitly (also a model's suggestion or the default), so the link draws the
 * same pictures wherever another model's suggestion or another default would apply.
 */
export function shareUrl(pageUrl: string, drawing: Drawing): string {
  const url = new URL(pageUrl);
  url.search = '';
  url.hash = '';
  const params = url.searchParams;
  params.set('prompt', drawing.prompt);
  params.set('seed', String(drawing.seed));
  params.set(NUMBER_PARAMS.count, String(drawing.count));
  params.set(NUMBER_PARAMS.conditionScale, String(drawing.sampling.conditionScale));
  params.set(NUMBER_PARAMS.topK, String(drawing.sampling.topK));
  params.set(NUMBER_PARAMS.topP, String(drawing.sampling.topP));
  params.set(NUMBER_PARAMS.temperature, String(drawing.sampling.temperature));
  if (drawing.model !== null) params.set('model', drawing.model);
  // Ranked or not, explicitly: the same settings draw other images with ranking the other way.
  params.set('rank', drawing.candidates === undefined ? 'off' : 'on');
  if (drawing.candidates !== undefined) params.set(NUMBER_PARAMS.candidates, String(drawing.candidates));
  return url.href;
}
