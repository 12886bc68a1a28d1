/**
 * The worker's boundary: every incoming message is checked here and rebuilt as a fresh, typed
 * request before the handler acts on it. Shapes and types are InvalidRequestError; the values whose
 * rules belong elsewhere are checked by their owners (the sampler's settings, the prompt's text).
 */
import { JsonField } from '../model/validate.ts';
import { checkSamplingSettings } from '../pipeline/sampler.ts';
import type { SamplingSettings } from '../pipeline/sampler.ts';
import { checkPromptText } from '../text/prompt-checks.ts';
import { MAX_SEED } from '../core/seed.ts';
import { InvalidRequestError } from './errors.ts';
import { BACKENDS, MAX_CANDIDATES, MAX_IMAGES, UNKNOWN_REQUEST_ID } from './protocol.ts';
import type {
  GenerateParams,
  LoadParams,
  RequestId,
  StorageAction,
  WorkerRequest,
  WorkerResponse,
} from './protocol.ts';

const CONTEXT = {
  source: 'worker request',
  error: InvalidRequestError,
  hint: 'The page sent a message the worker cannot use: reload the page (if this persists, it is a bug in the page).',
};

const ID_BOUNDS = { min: 0, max: Number.MAX_SAFE_INTEGER };
const MAX_URL_CHARS = 4096;
/** More than any model's image length (256 for the released ones): previews every N steps. */
const MAX_PREVIEW_EVERY = 65536;

/** The message's id if it has a usable one, else UNKNOWN_REQUEST_ID: where an error response goes. */
export function requestIdOf(message: unknown): RequestId {
  if (typeof message !== 'object' || message === null || !Object.hasOwn(message, 'id')) return UNKNOWN_REQUEST_ID;
  const id = (message as { id: unknown }).id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : UNKNOWN_REQUEST_ID;
}

function httpUrl(field: JsonField): string {
  const text = field.string({ maxLength: MAX_URL_CHARS });
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') field.fail('must be an absolute http(s) URL');
  return text;
}

function loadParams(params: JsonField): LoadParams {
  const backend = params.field('backend').optional((f) => f.oneOf(BACKENDS));
  return {
    modelUrl: httpUrl(params.field('modelUrl')),
    wasmPaths: httpUrl(params.field('wasmPaths')),
    ...(backend === undefined ? {} : { backend }),
  };
}

function samplingSettings(sampling: JsonField): SamplingSettings {
  const settings: SamplingSettings = {
    conditionScale: sampling.field('conditionScale').number(),
    topK: sampling.field('topK').number(),
    topP: sampling.field('topP').number(),
    temperature: sampling.field('temperature').number(),
  };
  // The sampler owns the ranges (SamplingSettingsError); this boundary only makes sure they are numbers.
  checkSamplingSettings(settings);
  return settings;
}

function generateParams(params: JsonField): GenerateParams {
  const prompt = params.field('prompt').string({ minLength: 0, maxLength: Number.MAX_SAFE_INTEGER });
  checkPromptText(prompt);
  const previewEvery = params.field('previewEvery').optional((f) => f.int({ min: 0, max: MAX_PREVIEW_EVERY }));
  const count = params.field('count').int({ min: 1, max: MAX_IMAGES });
  const rank = params
    .field('rank')
    .optional((f) => ({ candidates: f.object().field('candidates').int({ min: count, max: MAX_CANDIDATES }) }));
  return {
    prompt,
    count,
    ...(rank === undefined ? {} : { rank }),
    seed: params.field('seed').int({ min: 0, max: MAX_SEED }),
    sampling: samplingSettings(params.field('sampling')),
    ...(previewEvery === undefined ? {} : { previewEvery }),
  };
}

const MAX_STORED_ID_CHARS = 200;

function storageAction(request: JsonField): StorageAction {
  const action = request.field('action').oneOf(['list', 'delete', 'delete-all'] as const);
  if (action !== 'delete') return { action };
  return { action, model: request.field('model').string({ maxLength: MAX_STORED_ID_CHARS }) };
}

/** A typed copy of `message`, or InvalidRequestError (SamplingSettingsError, PromptError) saying what is wrong. */
export function parseWorkerRequest(message: unknown): WorkerRequest {
  const root = JsonField.root(message, CONTEXT).object();
  const id = root.field('id').int(ID_BOUNDS);
  const type = root.field('type').oneOf(['inspect', 'load', 'load-ranker', 'generate', 'cancel', 'storage'] as const);
  switch (type) {
    case 'inspect':
      return { type, id, modelUrl: httpUrl(root.field('modelUrl')) };
    case 'storage':
      return { type, id, request: storageAction(root.field('request').object()) };
    case 'load':
      return { type, id, params: loadParams(root.field('params').object()) };
    case 'load-ranker':
      return { type, id, params: { modelUrl: httpUrl(root.field('params').object().field('modelUrl')) } };
    case 'generate':
      return { type, id, params: generateParams(root.field('params').object()) };
    case 'cancel':
      return { type, id, target: root.field('target').int(ID_BOUNDS) };
  }
}

/** The answer to a message that could not even be deserialized (the worker's `messageerror`). */
export function unreadableMessageResponse(): WorkerResponse {
  const error = new InvalidRequestError(`${CONTEXT.source}: a message could not be deserialized. ${CONTEXT.hint}`);
  return { type: 'error', id: UNKNOWN_REQUEST_ID, error: { name: error.name, message: error.message } };
}
