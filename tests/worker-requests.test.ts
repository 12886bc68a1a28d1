/** The worker's boundary: any message in, a typed request or a typed error response out (no model needed). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SAMPLING } from '../src/pipeline/sampler.ts';
import { createWorkerHandler } from '../src/worker/handler.ts';
import { parseWorkerRequest, unreadableMessageResponse } from '../src/worker/parse-request.ts';
import { UNKNOWN_REQUEST_ID } from '../src/worker/protocol.ts';
import type { WorkerResponse } from '../src/worker/protocol.ts';
import type { ModelLibrary } from '../src/worker/model-library.ts';

const LOAD = { modelUrl: 'http://test/models/tiny/', wasmPaths: 'http://test/ort/' };
const DRAW = { prompt: 'A red apple', count: 2, seed: 7, sampling: DEFAULT_SAMPLING };
/** Malformed messages must never reach the library either. */
const unusedLibrary: ModelLibrary = {
  inspect: () => Promise.reject(new Error('library called')),
  manifest: () => Promise.reject(new Error('library called')),
  clipManifest: () => Promise.reject(new Error('library called')),
  open: () => Promise.reject(new Error('library called')),
  storage: () => Promise.reject(new Error('library called')),
};

/** [what, message, id of the error response, error class, what its message says] */
const MALFORMED: readonly (readonly [string, unknown, number, string, RegExp])[] = [
  [
    'null',
    null,
    UNKNOWN_REQUEST_ID,
    'InvalidRequestError',
    /^worker request must be a JSON object, got null\. The page sent a message/,
  ],
  ['a string', 'load', UNKNOWN_REQUEST_ID, 'InvalidRequestError', /must be a JSON object, got the string "load"/],
  ['an array', [1, 2], UNKNOWN_REQUEST_ID, 'InvalidRequestError', /must be a JSON object, got an array of 2/],
  [
    'no id',
    { type: 'cancel', target: 1 },
    UNKNOWN_REQUEST_ID,
    'InvalidRequestError',
    /"id" must be an integer from 0 to 9007199254740991, got nothing/,
  ],
  [
    'a string id',
    { type: 'cancel', id: '3', target: 1 },
    UNKNOWN_REQUEST_ID,
    'InvalidRequestError',
    /"id" must be an integer/,
  ],
  [
    'a negative id',
    { type: 'cancel', id: -5, target: 1 },
    UNKNOWN_REQUEST_ID,
    'InvalidRequestError',
    /"id" must be an integer/,
  ],
  [
    'an unsafe id',
    { type: 'cancel', id: 2 ** 53, target: 1 },
    UNKNOWN_REQUEST_ID,
    'InvalidRequestError',
    /"id" must be an integer/,
  ],
  [
    'an unknown type',
    { type: 'explode', id: 4 },
    4,
    'InvalidRequestError',
    /"type" must be one of "inspect", "load", "load-ranker", "generate", "cancel", "storage", got the string "explode"/,
  ],
  [
    'fewer candidates than images',
    { type: 'generate', id: 40, params: { ...DRAW, rank: { candidates: 1 } } },
    40,
    'InvalidRequestError',
    /"params\.rank\.candidates" must be an integer from 2 to 64, got number 1/,
  ],
  [
    'too many candidates',
    { type: 'generate', id: 41, params: { ...DRAW, rank: { candidates: 65 } } },
    41,
    'InvalidRequestError',
    /"params\.rank\.candidates" must be an integer from 2 to 64/,
  ],
  [
    'a ranker without a URL',
    { type: 'load-ranker', id: 42, params: {} },
    42,
    'InvalidRequestError',
    /"params\.modelUrl" must be a string/,
  ],
  ['no params', { type: 'generate', id: 5 }, 5, 'InvalidRequestError', /"params" must be a JSON object, got nothing/],
  [
    'a number prompt',
    { type: 'generate', id: 6, params: { ...DRAW, prompt: 123 } },
    6,
    'InvalidRequestError',
    /"params\.prompt" must be a string, got number 123/,
  ],
  ['an empty prompt', { type: 'generate', id: 7, params: { ...DRAW, prompt: ' ' } }, 7, 'PromptError', /Type a prompt/],
  [
    'count 0',
    { type: 'generate', id: 8, params: { ...DRAW, count: 0 } },
    8,
    'InvalidRequestError',
    /"params\.count" must be an integer from 1 to 9/,
  ],
  [
    'count "2"',
    { type: 'generate', id: 9, params: { ...DRAW, count: '2' } },
    9,
    'InvalidRequestError',
    /"params\.count" must be an integer/,
  ],
  [
    'a seed above 2^32 − 1',
    { type: 'generate', id: 10, params: { ...DRAW, seed: 2 ** 32 } },
    10,
    'InvalidRequestError',
    /"params\.seed" must be an integer from 0 to 4294967295, got number 4294967296/,
  ],
  [
    'a fractional seed',
    { type: 'generate', id: 11, params: { ...DRAW, seed: 1.5 } },
    11,
    'InvalidRequestError',
    /"params\.seed"/,
  ],
  [
    'previewEvery -1',
    { type: 'generate', id: 12, params: { ...DRAW, previewEvery: -1 } },
    12,
    'InvalidRequestError',
    /"params\.previewEvery" must be an integer from 0 to 65536, got number -1/,
  ],
  [
    'no sampling',
    { type: 'generate', id: 13, params: { ...DRAW, sampling: undefined } },
    13,
    'InvalidRequestError',
    /"params\.sampling" must be a JSON object/,
  ],
  [
    'a string top-k',
    { type: 'generate', id: 14, params: { ...DRAW, sampling: { ...DEFAULT_SAMPLING, topK: '50' } } },
    14,
    'InvalidRequestError',
    /"params\.sampling\.topK" must be a number/,
  ],
  [
    'top-p 0',
    { type: 'generate', id: 15, params: { ...DRAW, sampling: { ...DEFAULT_SAMPLING, topP: 0 } } },
    15,
    'SamplingSettingsError',
    /top-p must be in \(0, 1\]/,
  ],
  [
    'a relative model URL',
    { type: 'load', id: 16, params: { ...LOAD, modelUrl: 'models/tiny/' } },
    16,
    'InvalidRequestError',
    /"params\.modelUrl" must be an absolute http\(s\) URL/,
  ],
  [
    'a javascript: URL',
    { type: 'load', id: 17, params: { ...LOAD, wasmPaths: 'javascript:alert(1)' } },
    17,
    'InvalidRequestError',
    /"params\.wasmPaths" must be an absolute http\(s\) URL/,
  ],
  [
    'an unknown backend',
    { type: 'load', id: 18, params: { ...LOAD, backend: 'cuda' } },
    18,
    'InvalidRequestError',
    /"params\.backend" must be one of "webgpu", "wasm"/,
  ],
  [
    'a string target',
    { type: 'cancel', id: 19, target: 'all' },
    19,
    'InvalidRequestError',
    /"target" must be an integer/,
  ],
  ['inspect without a URL', { type: 'inspect', id: 20 }, 20, 'InvalidRequestError', /"modelUrl" must be a string/],
  [
    'an unknown storage action',
    { type: 'storage', id: 21, request: { action: 'format-disk' } },
    21,
    'InvalidRequestError',
    /"request\.action" must be one of "list", "delete", "delete-all"/,
  ],
  [
    'delete without a model',
    { type: 'storage', id: 22, request: { action: 'delete' } },
    22,
    'InvalidRequestError',
    /"request\.model" must be a string/,
  ],
];

void test('every malformed message gets a typed error response, under its id when it has one, else -1', async () => {
  const posted: WorkerResponse[] = [];
  let loads = 0;
  const handle = createWorkerHandler({
    post: (m) => posted.push(structuredClone(m)),
    loadModel: () => Promise.reject(new Error(`loader called ${++loads}`)),
    library: unusedLibrary,
  });
  for (const [what, message, id, name, text] of MALFORMED) {
    posted.length = 0;
    await handle(message);
    assert.equal(posted.length, 1, what);
    const [response] = posted;
    assert.equal(response?.type, 'error', what);
    if (response?.type !== 'error') continue;
    assert.deepEqual([response.id, response.error.name], [id, name], what);
    assert.match(response.error.message, text, what);
  }
  assert.equal(loads, 0, 'no malformed request reached the loader');
});

void test('a valid request comes back as a fresh copy without unknown fields', () => {
  const request = parseWorkerRequest({
    type: 'generate',
    id: 3,
    extra: true,
    params: { ...DRAW, previewEvery: 0, sampling: { ...DEFAULT_SAMPLING, junk: 1 } },
  });
  assert.deepEqual(request, { type: 'generate', id: 3, params: { ...DRAW, previewEvery: 0 } });
  assert.deepEqual(parseWorkerRequest({ type: 'load', id: 1, params: { ...LOAD, backend: 'wasm' } }), {
    type: 'load',
    id: 1,
    params: { ...LOAD, backend: 'wasm' },
  });
  assert.deepEqual(parseWorkerRequest({ type: 'cancel', id: 2, target: 1 }), { type: 'cancel', id: 2, target: 1 });
});

void test('an unreadable message is answered under id -1', () => {
  const response = unreadableMessageResponse();
  assert.equal(response.id, UNKNOWN_REQUEST_ID);
  assert.ok(
    response.type === 'error' &&
      response.error.name === 'InvalidRequestError' &&
      /could not be deserialized/.test(response.error.message),
  );
});
