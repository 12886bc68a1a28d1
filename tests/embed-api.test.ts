/** The embed widget's postMessage API: the pure message parser, the trusted origins, and the bridge's answers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMBED_API, MAX_ORIGINS, parseParentMessage, parseTrustedOrigins } from '../src/ui/embed/embed-api.ts';
import type { GenerateMessage, WidgetMessage } from '../src/ui/embed/embed-api.ts';
import { createEmbedBridge } from '../src/ui/embed/embed-bridge.ts';
import type { DrawnImages, EmbedBridgeDeps } from '../src/ui/embed/embed-bridge.ts';

const BLOG = 'https://blog.example';
const OTHER = 'https://other.example';

void test('a generate message is copied field by field; optional fields stay out when absent', () => {
  const parsed = parseParentMessage({ api: EMBED_API, type: 'generate', id: 'a1', prompt: 'a red apple', extra: 1 });
  assert.deepEqual(parsed, {
    kind: 'message',
    message: { api: EMBED_API, type: 'generate', id: 'a1', prompt: 'a red apple' },
  });
  const full = parseParentMessage({
    api: EMBED_API,
    type: 'generate',
    id: 7,
    prompt: 'x',
    count: 9,
    seed: 4294967295,
    sampling: { topK: 0, temperature: 0.5 },
    format: 'blob',
  });
  assert.equal(full.kind, 'message');
  const message = full.kind === 'message' ? (full.message as GenerateMessage) : undefined;
  assert.equal(message?.count, 9);
  assert.equal(message?.seed, 4294967295);
  assert.deepEqual(message?.sampling, { topK: 0, temperature: 0.5 });
  assert.equal(message?.format, 'blob');
  assert.deepEqual(parseParentMessage({ api: EMBED_API, type: 'cancel', id: 7, prompt: 'ignored' }), {
    kind: 'message',
    message: { api: EMBED_API, type: 'cancel', id: 7 },
  });
});

void test('messages without our api marker are foreign and get no answer, whatever else they hold', () => {
  for (const data of [
    null,
    undefined,
    'generate',
    42,
    [],
    {},
    { type: 'generate', prompt: 'x', id: 1 },
    { api: 'other/1' },
  ])
    assert.deepEqual(parseParentMessage(data), { kind: 'foreign' });
});

void test('ours but unusable: invalid, with the id when it had one and the field that is wrong', () => {
  const cases: [unknown, string | number | null, RegExp][] = [
    [{ api: EMBED_API, type: 'generate', prompt: 'x' }, null, /"id" must be a string/],
    [{ api: EMBED_API, type: 'generate', id: -1, prompt: 'x' }, null, /"id" must be an integer/],
    [{ api: EMBED_API, type: 'draw', id: 1, prompt: 'x' }, 1, /"type" must be one of "generate", "cancel"/],
    [{ api: EMBED_API, type: 'generate', id: 1 }, 1, /"prompt" must be a string/],
    [{ api: EMBED_API, type: 'generate', id: 1, prompt: '  ' }, 1, /Type a prompt/],
    [{ api: EMBED_API, type: 'generate', id: 1, prompt: 'x'.repeat(2001) }, 1, /shorten it/],
    [{ api: EMBED_API, type: 'generate', id: 1, prompt: 'x', count: 10 }, 1, /"count" must be an integer from 1 to 9/],
    [{ api: EMBED_API, type: 'generate', id: 1, prompt: 'x', seed: 2 ** 32 }, 1, /"seed" must be an integer/],
    [{ api: EMBED_API, type: 'generate', id: 1, prompt: 'x', seed: 1.5 }, 1, /"seed"/],
    // The app's settings ranges: the widget's share link of what it drew must draw it again in the app.
    [
      { api: EMBED_API, type: 'generate', id: 1, prompt: 'x', sampling: { topP: 2 } },
      1,
      /"sampling.topP" must be a number from 0.01 to 1, got 2/,
    ],
    [{ api: EMBED_API, type: 'generate', id: 1, prompt: 'x', sampling: { temperature: 50 } }, 1, /from 0.01 to 10/],
    [{ api: EMBED_API, type: 'generate', id: 1, prompt: 'x', sampling: { topK: 1e6 } }, 1, /integer from 0 to 16384/],
    [{ api: EMBED_API, type: 'generate', id: 1, prompt: 'x', sampling: { topK: 1.5 } }, 1, /"sampling.topK"/],
    [{ api: EMBED_API, type: 'generate', id: 1, prompt: 'x', sampling: { conditionScale: 1e300 } }, 1, /0 to 100/],
    [
      { api: EMBED_API, type: 'generate', id: 1, prompt: 'x', sampling: { topK: '5' } },
      1,
      /"sampling.topK" must be a number/,
    ],
    [{ api: EMBED_API, type: 'generate', id: 1, prompt: 'x', format: 'jpeg' }, 1, /"format" must be one of/],
  ];
  for (const [data, id, problem] of cases) {
    const parsed = parseParentMessage(data);
    assert.equal(parsed.kind, 'invalid', JSON.stringify(data).slice(0, 80));
    if (parsed.kind !== 'invalid') continue;
    assert.equal(parsed.id, id);
    assert.match(parsed.problem, problem);
  }
});

void test('trusted origins are exact origins; anything wider or misspelt is refused', () => {
  assert.deepEqual(parseTrustedOrigins(' https://blog.example, http://localhost:8080 https://blog.example'), {
    origins: ['https://blog.example', 'http://localhost:8080'],
    refused: [],
    overLimit: [],
  });
  for (const bad of [
    '*',
    'null',
    'blog.example',
    'https://blog.example/',
    'https://blog.example/post',
    'https://Blog.example',
    'https://*.blog.example',
    'ftp://blog.example',
    'javascript:alert(1)',
    'https://blog.example:443',
  ]) {
    assert.deepEqual(parseTrustedOrigins(bad), { origins: [], refused: [bad], overLimit: [] }, bad);
  }
  const many = Array.from({ length: MAX_ORIGINS + 2 }, (_, i) => `https://b${i}.example`);
  const { origins, overLimit } = parseTrustedOrigins(many.join(' '));
  assert.deepEqual(origins, many.slice(0, MAX_ORIGINS));
  assert.deepEqual(overLimit, many.slice(MAX_ORIGINS));
});

interface Posted {
  readonly message: WidgetMessage;
  readonly origin: string;
}

function bridgeWith(draw: EmbedBridgeDeps['draw']) {
  const posted: Posted[] = [];
  const warnings: string[] = [];
  const bridge = createEmbedBridge({
    trustedOrigins: [BLOG],
    post: (message, origin) => posted.push({ message, origin }),
    draw,
    warn: (text) => warnings.push(text),
  });
  return { bridge, posted, warnings };
}

const drawn: DrawnImages = { images: ['data:image/png;base64,AAAA'], imageSize: 256, seed: 5 };
const generate = (id: string | number, extra: object = {}) => ({
  api: EMBED_API,
  type: 'generate',
  id,
  prompt: 'a red apple',
  ...extra,
});

void test('the trusted parent gets progress and the result, posted to its own origin only', async () => {
  const { bridge, posted, warnings } = bridgeWith((request, onProgress) => {
    assert.equal(request.prompt, 'a red apple');
    onProgress(0.5);
    onProgress(1);
    return Promise.resolve(drawn);
  });
  await bridge.receive({ origin: BLOG, data: generate('r1'), fromParent: true });
  assert.deepEqual(
    posted.map((p) => [p.origin, p.message.type]),
    [
      [BLOG, 'progress'],
      [BLOG, 'progress'],
      [BLOG, 'result'],
    ],
  );
  assert.deepEqual(posted[2]!.message, { api: EMBED_API, type: 'result', id: 'r1', ...drawn });
  assert.deepEqual(warnings, []);
});

void test('another origin, or a trusted one that is not the framing page, is ignored: nothing drawn, nothing posted', async () => {
  let draws = 0;
  const { bridge, posted, warnings } = bridgeWith(() => {
    draws++;
    return Promise.resolve(drawn);
  });
  await bridge.receive({ origin: OTHER, data: generate('r1'), fromParent: true });
  await bridge.receive({ origin: 'null', data: generate('r2'), fromParent: true });
  await bridge.receive({ origin: BLOG, data: generate('r3'), fromParent: false });
  await bridge.receive({ origin: OTHER, data: { hello: 'world' }, fromParent: true });
  assert.equal(draws, 0);
  assert.deepEqual(posted, []);
  assert.equal(warnings.length, 3, 'one console line per message of ours that was ignored; foreign ones say nothing');
  assert.match(warnings[0]!, /https:\/\/other\.example, which is not among the trusted origins/);
});

void test('a malformed message from the trusted parent is answered with an error, not drawn', async () => {
  const { bridge, posted } = bridgeWith(() => Promise.reject(new Error('not called')));
  await bridge.receive({ origin: BLOG, data: generate('r1', { count: 0 }), fromParent: true });
  assert.equal(posted.length, 1);
  const { message, origin } = posted[0]!;
  assert.equal(origin, BLOG);
  assert.equal(message.type, 'error');
  assert.equal(message.type === 'error' && message.id, 'r1');
  assert.match(message.type === 'error' ? message.message : '', /"count" must be an integer from 1 to 9/);
});

void test('with no trusted origins the API is off and nothing is ever posted', async () => {
  const posted: Posted[] = [];
  const bridge = createEmbedBridge({
    trustedOrigins: [],
    post: (message, origin) => posted.push({ message, origin }),
    draw: () => Promise.resolve(drawn),
    warn: () => undefined,
  });
  await bridge.receive({ origin: BLOG, data: generate('r1'), fromParent: true });
  bridge.announceReady('random-tiny-seed1');
  assert.deepEqual(posted, []);
});

void test('drawings run one at a time, a failure is an error answer, and cancel reaches only its own request, answered at once when it waits', async () => {
  const order: string[] = [];
  let release = (): void => undefined;
  const { bridge, posted } = bridgeWith(async (request, _onProgress, signal) => {
    order.push(`start ${request.id}`);
    if (request.id === 'slow') await new Promise<void>((resolve) => (release = resolve));
    if (signal.aborted)
      throw Object.assign(new Error('Generation was cancelled.'), { name: 'GenerationCancelledError' });
    if (request.id === 'bad') throw new Error('The model could not be loaded.');
    order.push(`end ${request.id}`);
    return drawn;
  });
  const slow = bridge.receive({ origin: BLOG, data: generate('slow'), fromParent: true });
  const bad = bridge.receive({ origin: BLOG, data: generate('bad'), fromParent: true });
  const cancelled = bridge.receive({ origin: BLOG, data: generate('later'), fromParent: true });
  await bridge.receive({ origin: BLOG, data: generate('slow'), fromParent: true });
  await bridge.receive({ origin: BLOG, data: { api: EMBED_API, type: 'cancel', id: 'later' }, fromParent: true });
  assert.equal(
    posted.at(-1)?.message.type,
    'error',
    'a waiting request is answered when cancelled, not after the others',
  );
  // Its id is free again at once.
  const again = bridge.receive({ origin: BLOG, data: generate('later'), fromParent: true });
  release();
  await Promise.all([slow, bad, cancelled, again]);
  assert.deepEqual(order, ['start slow', 'end slow', 'start bad', 'start later', 'end later']);
  const answers = posted.map(({ message }) =>
    message.type === 'error'
      ? `${String(message.id)} ${message.name}`
      : `${'id' in message ? String(message.id) : ''} ${message.type}`,
  );
  assert.deepEqual(answers, [
    'slow EmbedMessageError',
    'later GenerationCancelledError',
    'slow result',
    'bad Error',
    'later result',
  ]);
});

void test('an untrusted frame’s message is not read past its api marker, and its origin is named in the console once', async () => {
  const { bridge, posted, warnings } = bridgeWith(() => Promise.reject(new Error('not called')));
  let reads = 0;
  const message = {
    api: EMBED_API,
    type: 'generate',
    id: 1,
    get prompt() {
      reads++;
      return 'a'.repeat(10);
    },
  };
  for (let i = 0; i < 5; i++) await bridge.receive({ origin: OTHER, data: message, fromParent: true });
  assert.equal(reads, 0);
  assert.deepEqual(posted, []);
  assert.equal(warnings.length, 1);
});

void test('ready is announced to each trusted origin by name, never to "*"', () => {
  const posted: Posted[] = [];
  const bridge = createEmbedBridge({
    trustedOrigins: [BLOG, OTHER],
    post: (message, origin) => posted.push({ message, origin }),
    draw: () => Promise.resolve(drawn),
    warn: () => undefined,
  });
  bridge.announceReady('random-tiny-seed1');
  assert.deepEqual(
    posted.map((p) => p.origin),
    [BLOG, OTHER],
  );
  assert.deepEqual(posted[0]!.message, { api: EMBED_API, type: 'ready', modelId: 'random-tiny-seed1' });
});
