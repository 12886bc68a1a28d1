/**
 * The drawing settings: their defaults (dalle-mini's), their limits, and one reader that turns
 * anything (a stored value from an older version, a hand-edited one, a share link's parameters)
 * into valid settings, field by field, each bad field falling back to its default. A new setting
 * is one field in DrawSettings, DEFAULT_SETTINGS and SETTING_RULES. The sampling settings may be null: follow the
 * active model's suggestion (sampling-choice.ts).
 */
import { MAX_SEED, seedOf } from '../core/seed.ts';
import { isBackendName, MAX_CANDIDATES, MAX_IMAGES } from '../worker/protocol.ts';
import type { BackendName } from '../worker/protocol.ts';
import { FOLLOW_MODEL } from './sampling-choice.ts';
import type { SamplingChoice } from './sampling-choice.ts';

/** `auto`: WebGPU when the browser has an adapter, else WASM. */
export type BackendChoice = 'auto' | BackendName;
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'webgpu', 'wasm'];

export interface DrawSettings extends SamplingChoice {
  /** How many images to draw, 1 … MAX_IMAGES. */
  readonly count: number;
  /** The seed field's text as typed; parsed exactly when drawing (seed-text.ts). */
  readonly seedText: string;
  /** Unlocked, every Draw picks a new random seed (and shows it); locked, Draw keeps the seed. */
  readonly seedLocked: boolean;
  /** The catalog id of the model to load; null: the catalog's first model this device can run. */
  readonly model: string | null;
  readonly backend: BackendChoice;
  /**
   * CLIP ranking on or off as the visitor (or a share link) chose; null: the device's default (off under 4 GB of
   * memory and with a random-weight ranker, ranking-store.ts).
   */
  readonly rank: boolean | null;
  /** Candidates a ranked drawing draws; the image count is how many of the best are shown (raised to it at Draw). */
  readonly candidates: number;
}

/** The numeric settings' limits; the sampler (sampler.ts checkSamplingSettings) accepts all of these. */
export interface NumberRule {
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
  /** The input's step. */
  readonly step: number;
}

export const NUMBER_RULES = {
  count: { min: 1, max: MAX_IMAGES, integer: true, step: 1 },
  conditionScale: { min: 0, max: 100, integer: false, step: 0.5 },
  // 0 turns top-k off; above the VQGAN's 16384 codes it is off as well.
  topK: { min: 0, max: 16384, integer: true, step: 1 },
  // top-p is in (0, 1]: 0 would keep nothing.
  topP: { min: 0.01, max: 1, integer: false, step: 0.01 },
  temperature: { min: 0.01, max: 10, integer: false, step: 0.05 },
  candidates: { min: 1, max: MAX_CANDIDATES, integer: true, step: 1 },
} as const satisfies Record<string, NumberRule>;

export type NumberSetting = keyof typeof NUMBER_RULES;

/** A random seed, 0 … MAX_SEED, from the browser's cryptographic generator. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

export const DEFAULT_SETTINGS: DrawSettings = {
  count: 9,
  seedText: '0',
  seedLocked: false,
  ...FOLLOW_MODEL,
  model: null,
  backend: 'auto',
  rank: null,
  // dalle-mini's notebook: 16 candidates for a 3×3 grid.
  candidates: 16,
};

export function isValidNumber(rule: NumberRule, value: unknown): value is number {
  return (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= rule.min &&
    value <= rule.max &&
    (!rule.integer || Number.isInteger(value))
  );
}

/** Model ids as catalogs write them; anything else stored is ignored. */
const MODEL_ID = /^[A-Za-z0-9._-]{1,100}$/;

/** For each setting: the value read, or undefined when it is unusable (the default is taken). */
const SETTING_RULES: { readonly [K in keyof DrawSettings]: (value: unknown) => DrawSettings[K] | undefined } = {
  count: (v) => (isValidNumber(NUMBER_RULES.count, v) ? v : undefined),
  // Kept as typed (" 42", "0042" draw seed 42 too), read back by the same rule as the field's.
  seedText: (v) => (typeof v === 'string' && seedOf(v) !== undefined ? v : undefined),
  seedLocked: (v) => (typeof v === 'boolean' ? v : undefined),
  conditionScale: (v) => (v === null || isValidNumber(NUMBER_RULES.conditionScale, v) ? v : undefined),
  topK: (v) => (v === null || isValidNumber(NUMBER_RULES.topK, v) ? v : undefined),
  topP: (v) => (v === null || isValidNumber(NUMBER_RULES.topP, v) ? v : undefined),
  temperature: (v) => (v === null || isValidNumber(NUMBER_RULES.temperature, v) ? v : undefined),
  model: (v) => (v === null || (typeof v === 'string' && MODEL_ID.test(v)) ? v : undefined),
  backend: (v) => (v === 'auto' || (typeof v === 'string' && isBackendName(v)) ? v : undefined),
  rank: (v) => (v === null || typeof v === 'boolean' ? v : undefined),
  candidates: (v) => (isValidNumber(NUMBER_RULES.candidates, v) ? v : undefined),
};

/** Settings from anything: each valid field is kept, each missing or bad one is the default's. */
export function readSettings(value: unknown, defaults: DrawSettings = DEFAULT_SETTINGS): DrawSettings {
  const source: Record<string, unknown> = typeof value === 'object' && value !== null ? { ...value } : {};
  const field = <K extends keyof DrawSettings>(key: K): DrawSettings[K] =>
    SETTING_RULES[key](source[key]) ?? defaults[key];
  return {
    count: field('count'),
    seedText: field('seedText'),
    seedLocked: field('seedLocked'),
    conditionScale: field('conditionScale'),
    topK: field('topK'),
    topP: field('topP'),
    temperature: field('temperature'),
    model: field('model'),
    backend: field('backend'),
    rank: field('rank'),
    candidates: field('candidates'),
  };
}

export function isModelId(value: string): boolean {
  return MODEL_ID.test(value);
}

/** The ranking settings that draw a drawing again: ranked with its candidates (`candidates` set), or unranked. */
export function rankingOf(candidates: number | undefined): Partial<DrawSettings> {
  return candidates === undefined ? { rank: false } : { rank: true, candidates };
}

export { MAX_SEED };
