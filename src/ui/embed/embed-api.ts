/**
 * The embed widget's postMessage API (docs/embedding.md): the messages a parent page sends the
 * widget and the ones it gets back, and the pure checks behind them — which origins are trusted,
 * and whether a message is ours and well formed. The widget acts only on messages that pass both;
 * everything here runs in Node for the unit tests.
 */
import { MAX_SEED } from '../../core/seed.ts';
import { checkSamplingSettings, DEFAULT_SAMPLING } from '../../pipeline/sampler.ts';
import type { SamplingSettings } from '../../pipeline/sampler.ts';
import { checkPromptText } from '../../text/prompt-checks.ts';
import { JsonField } from '../../model/validate.ts';
import { MAX_IMAGES } from '../../worker/protocol.ts';
import { isValidNumber, NUMBER_RULES } from '../settings.ts';

/** Every message either way carries `api: EMBED_API`, which tells ours apart from a page's other messages. */
export const EMBED_API = 'dalle-mini-embed/1';

/** The parent's name for a request, echoed in every answer to it. */
export type EmbedRequestId = string | number;

/** How result images arrive: PNG data URLs (strings) or PNG Blobs. */
export const IMAGE_FORMATS = ['data-url', 'blob'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/**
 * Parent → widget: draw `prompt`; what is left out comes from the widget's URL parameters (count, seed) or the
 * defaults.
 */
export interface GenerateMessage {
  readonly api: typeof EMBED_API;
  readonly type: 'generate';
  readonly id: EmbedRequestId;
  readonly prompt: string;
  /** 1 … 9. */
  readonly count?: number;
  /** 0 … 4294967295; a random one when left out (the result says which). */
  readonly seed?: number;
  /** Any of conditionScale, topK, topP, temperature; the others stay the widget's. */
  readonly sampling?: Partial<SamplingSettings>;
  /** 'data-url' unless given. */
  readonly format?: ImageFormat;
}

/** Parent → widget: stop the drawing `id` (it then answers with an error named GenerationCancelledError). */
export interface CancelMessage {
  readonly api: typeof EMBED_API;
  readonly type: 'cancel';
  readonly id: EmbedRequestId;
}

export type ParentMessage = GenerateMessage | CancelMessage;

export type WidgetMessage =
  /** The model is loaded: `generate` now starts at once (sent earlier, it waits for this). */
  | { readonly api: typeof EMBED_API; readonly type: 'ready'; readonly modelId: string }
  /** Drawing `id`: `fraction` of the work done, 0 … 1. */
  | {
      readonly api: typeof EMBED_API;
      readonly type: 'progress';
      readonly id: EmbedRequestId;
      readonly fraction: number;
    }
  | {
      readonly api: typeof EMBED_API;
      readonly type: 'result';
      readonly id: EmbedRequestId;
      /** One PNG per image, imageSize × imageSize pixels. */
      readonly images: readonly (string | Blob)[];
      readonly imageSize: number;
      /** The seed drawn with: the same prompt, seed, settings and model draw the same images. */
      readonly seed: number;
    }
  /** `id` is null when the message that failed had no usable id. */
  | {
      readonly api: typeof EMBED_API;
      readonly type: 'error';
      readonly id: EmbedRequestId | null;
      readonly name: string;
      readonly message: string;
    };

/** Distributes Omit over the union, so each member keeps its own fields. */
type WithoutApi<T> = T extends unknown ? Omit<T, 'api'> : never;

export function widgetMessage(message: WithoutApi<WidgetMessage>): WidgetMessage {
  return { api: EMBED_API, ...message };
}

export type ParsedMessage =
  /** Not addressed to this API (another script's message): ignored without a word. */
  | { readonly kind: 'foreign' }
  | { readonly kind: 'message'; readonly message: ParentMessage }
  /** Ours, but unusable: `problem` says why. */
  | { readonly kind: 'invalid'; readonly id: EmbedRequestId | null; readonly problem: string };

const MAX_ID_CHARS = 200;
/** Trusted parents one widget takes; more suggests a list pasted by mistake. */
export const MAX_ORIGINS = 16;
/** A DNS name, an IPv4 address or a bracketed IPv6 address, as URL parsing normalises them. */
const HOST = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])$/;

/** Thrown by the field readers only; parseParentMessage turns it into an `invalid` result. */
class MessageProblem extends Error {}

const CONTEXT = {
  source: 'dalle-mini embed message',
  error: MessageProblem,
  hint: 'See docs/embedding.md for the message format.',
};

function requestId(field: JsonField): EmbedRequestId {
  if (typeof field.value === 'number') return field.int({ min: 0, max: Number.MAX_SAFE_INTEGER });
  return field.string({ maxLength: MAX_ID_CHARS });
}

/**
 * The sampling fields the parent set (the others stay the widget's); each within the app's settings range (so the
 * widget's share link draws it again in the app), then checked as the sampler would, on dalle-mini's defaults.
 */
function sampling(field: JsonField): Partial<SamplingSettings> {
  const settings: { -readonly [K in keyof SamplingSettings]?: number } = {};
  for (const name of Object.keys(DEFAULT_SAMPLING) as (keyof SamplingSettings)[]) {
    const value = field.field(name).optional((f) => f.number());
    if (value === undefined) continue;
    const rule = NUMBER_RULES[name];
    const shown = String(value);
    if (!isValidNumber(rule, value)) {
      const kind = rule.integer ? 'an integer' : 'a number';
      field.field(name).fail(`must be ${kind} from ${rule.min} to ${rule.max}, got ${shown}`);
    }
    settings[name] = value;
  }
  checkSamplingSettings({ ...DEFAULT_SAMPLING, ...settings });
  return settings;
}

function generate(root: JsonField, id: EmbedRequestId): GenerateMessage {
  // The widget's own rules for a prompt (empty, too long), in their own words.
  const prompt = root.field('prompt').string({ minLength: 0, maxLength: Number.MAX_SAFE_INTEGER });
  checkPromptText(prompt);
  const count = root.field('count').optional((f) => f.int({ min: 1, max: MAX_IMAGES }));
  const seed = root.field('seed').optional((f) => f.int({ min: 0, max: MAX_SEED }));
  const settings = root.field('sampling').optional((f) => sampling(f.object()));
  const format = root.field('format').optional((f) => f.oneOf(IMAGE_FORMATS));
  return {
    api: EMBED_API,
    type: 'generate',
    id,
    prompt,
    ...(count === undefined ? {} : { count }),
    ...(seed === undefined ? {} : { seed }),
    ...(settings === undefined ? {} : { sampling: settings }),
    ...(format === undefined ? {} : { format }),
  };
}

/** What `data` is to the widget: foreign, a typed copy of a valid message, or invalid with the reason. */
export function parseParentMessage(data: unknown): ParsedMessage {
  if (typeof data !== 'object' || data === null || (data as { api?: unknown }).api !== EMBED_API) {
    return { kind: 'foreign' };
  }
  const root = JsonField.root(data, CONTEXT);
  let id: EmbedRequestId | null = null;
  try {
    id = requestId(root.field('id'));
    const type = root.field('type').oneOf(['generate', 'cancel'] as const);
    return {
      kind: 'message',
      message: type === 'generate' ? generate(root, id) : { api: EMBED_API, type, id },
    };
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    return { kind: 'invalid', id, problem: error.message };
  }
}

/**
 * The `origins` URL parameter: exact origins (`https://blog.example`, `http://localhost:8080`),
 * separated by commas or spaces. Anything else — `*`, a path, a trailing slash, upper case, another
 * scheme — is refused (and the widget says so), so a typo never trusts more than was meant.
 */
export interface TrustedOrigins {
  readonly origins: string[];
  /** Entries that are not exact origins, as given. */
  readonly refused: string[];
  /** Valid origins past MAX_ORIGINS, not trusted. */
  readonly overLimit: string[];
}

export function parseTrustedOrigins(text: string): TrustedOrigins {
  const result: TrustedOrigins = { origins: [], refused: [], overLimit: [] };
  for (const entry of text.split(/[\s,]+/).filter((e) => e !== '')) {
    let origin: string | null = null;
    try {
      const url = new URL(entry);
      const web = url.protocol === 'https:' || url.protocol === 'http:';
      // URL parsing lets a few wildcard-looking characters (`*`) through in host names: no real origin has them.
      if (web && url.origin === entry && HOST.test(url.hostname)) origin = url.origin;
    } catch {
      origin = null;
    }
    if (origin === null) result.refused.push(entry);
    else if (result.origins.includes(origin)) continue;
    else if (result.origins.length >= MAX_ORIGINS) result.overLimit.push(origin);
    else result.origins.push(origin);
  }
  return result;
}
