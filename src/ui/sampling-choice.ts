/**
 * The sampling settings as the visitor chose them: a number each, or null for "whatever the active model suggests
 * (its catalog entry's `sampling`), else dalle-mini's default". A drawing never sees null: `effectiveSampling`
 * resolves the choice against the active catalog entry, and every drawing, share link, embed snippet and history
 * record carries those effective numbers, so it draws the same pictures on any setup.
 */
import type { CatalogModel } from '../model/catalog.ts';
import { DEFAULT_SAMPLING } from '../pipeline/sampler.ts';
import type { SamplingSettings } from '../pipeline/sampler.ts';

export const SAMPLING_KEYS = [
  'conditionScale',
  'topK',
  'topP',
  'temperature',
] as const satisfies readonly (keyof SamplingSettings)[];
export type SamplingKey = (typeof SAMPLING_KEYS)[number];

/** Each sampling setting: the visitor's number, or null to follow the model's suggestion, else the default. */
export type SamplingChoice = { readonly [K in SamplingKey]: number | null };

/** Nothing chosen: every setting follows the active model. */
export const FOLLOW_MODEL: SamplingChoice = { conditionScale: null, topK: null, topP: null, temperature: null };

/** The part of a catalog entry that matters here; undefined when no model is active yet. */
export type SuggestingModel = Pick<CatalogModel, 'name' | 'sampling'> | undefined;

/** Where a setting's effective value comes from: the visitor, the model's catalog entry, or dalle-mini's default. */
export type SamplingSource = 'chosen' | 'model' | 'default';

export function samplingSource(choice: SamplingChoice, model: SuggestingModel, key: SamplingKey): SamplingSource {
  if (choice[key] !== null) return 'chosen';
  return model?.sampling[key] !== undefined ? 'model' : 'default';
}

/** What a setting resolves to when the visitor has not chosen it: the model's suggestion, else the default. */
export function fallbackValue(model: SuggestingModel, key: SamplingKey): number {
  return model?.sampling[key] ?? DEFAULT_SAMPLING[key];
}

/** The numbers a drawing uses: the visitor's choice where there is one, else the model's suggestion, else default. */
export function effectiveSampling(choice: SamplingChoice, model: SuggestingModel): SamplingSettings {
  const value = (key: SamplingKey): number => choice[key] ?? fallbackValue(model, key);
  return {
    conditionScale: value('conditionScale'),
    topK: value('topK'),
    topP: value('topP'),
    temperature: value('temperature'),
  };
}

/**
 * The choice that draws `drawn` again with `model` ("draw again", a history entry): each setting keeps the current
 * choice where that already resolves to the drawn value (so one that follows the model keeps following it), and
 * becomes the drawn number where it does not.
 */
export function choiceFor(drawn: SamplingSettings, current: SamplingChoice, model: SuggestingModel): SamplingChoice {
  const resolved = effectiveSampling(current, model);
  const keep = (key: SamplingKey): number | null => (resolved[key] === drawn[key] ? current[key] : drawn[key]);
  return {
    conditionScale: keep('conditionScale'),
    topK: keep('topK'),
    topP: keep('topP'),
    temperature: keep('temperature'),
  };
}

/** The catalog entry of the model picked (loaded, loading or waiting for consent), if the catalog has it. */
export function activeModel(state: {
  readonly catalog: readonly CatalogModel[];
  readonly selectedModel: string | null;
}): CatalogModel | undefined {
  return state.catalog.find((model) => model.id === state.selectedModel);
}

/**
 * Settings stored before sampling settings could follow the model (storage version 1) hold numbers only, so one
 * equal to the old app default cannot tell "left alone" from "typed 10": such values become null (follow the model),
 * which is what a visitor who never touched them meant; any other number stays the visitor's choice.
 */
export function forgetOldDefaults(stored: unknown): unknown {
  if (typeof stored !== 'object' || stored === null) return stored;
  const settings: Record<string, unknown> = { ...stored };
  for (const key of SAMPLING_KEYS) if (settings[key] === DEFAULT_SAMPLING[key]) settings[key] = null;
  return settings;
}
