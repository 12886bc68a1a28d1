/** Share links: a drawing → URL → the same prompt, seed, settings and model; bad parameters are named and ignored. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SAMPLING } from '../src/pipeline/sampler.ts';
import { readUrlOptions, shareUrl } from '../src/ui/url-params.ts';
import type { Drawing } from '../src/ui/store.ts';

const DRAWING: Drawing = {
  prompt: 'a red apple & a "pear" on a table? 100% #fruit 苹果',
  seed: 4294967295,
  count: 3,
  sampling: { conditionScale: 3.5, topK: 0, topP: 0.9, temperature: 0.75 },
  model: 'dalle-mini-q8',
  modelId: 'dalle-mini',
};

void test('a share link reads back as the drawing it was made from', () => {
  const url = new URL(shareUrl('https://example.com/app/?backend=wasm#x', DRAWING));
  assert.equal(url.origin + url.pathname, 'https://example.com/app/');
  assert.equal(url.hash, '');
  const options = readUrlOptions(url.search);
  assert.deepEqual(options.problems, []);
  assert.equal(options.prompt, DRAWING.prompt);
  assert.equal(options.model, DRAWING.model);
  assert.equal(options.backend, undefined, 'a share link does not force a backend');
  assert.deepEqual(options.settings, {
    count: 3,
    seedText: '4294967295',
    seedLocked: true,
    conditionScale: 3.5,
    topK: 0,
    topP: 0.9,
    temperature: 0.75,
    rank: false,
  });
});

void test("a link carries the numbers drawn with, explicitly, even a model's suggestion or the default", () => {
  const link = new URL(
    shareUrl('https://example.com/', { ...DRAWING, sampling: { ...DEFAULT_SAMPLING, conditionScale: 3 } }),
  );
  assert.equal(link.searchParams.get('scale'), '3');
  assert.equal(link.searchParams.get('top_k'), '50');
  const { settings } = readUrlOptions(link.search);
  assert.deepEqual(
    [settings.conditionScale, settings.topK, settings.topP, settings.temperature],
    [3, 50, 1, 1],
    'explicit numbers, not "follow the model": the link draws the same on another model setup',
  );
});

void test('a ranked drawing’s link turns ranking on with its candidates; an unranked one turns it off', () => {
  const ranked = new URL(shareUrl('https://example.com/', { ...DRAWING, candidates: 16 }));
  assert.equal(ranked.searchParams.get('rank'), 'on');
  assert.equal(ranked.searchParams.get('candidates'), '16');
  assert.deepEqual(
    [readUrlOptions(ranked.search).settings.rank, readUrlOptions(ranked.search).settings.candidates],
    [true, 16],
  );
  const plain = new URL(shareUrl('https://example.com/', DRAWING));
  assert.equal(plain.searchParams.get('candidates'), null);
  assert.deepEqual(readUrlOptions('?rank=off').settings, { rank: false });
  assert.deepEqual(readUrlOptions('?rank=').settings, {}, 'an empty rank leaves the device default');
});

void test('a share link reads back the sampling it was drawn with, also numbers String() writes with an exponent', () => {
  const sampling = { conditionScale: 1e-7, topK: 16384, topP: 0.01, temperature: 0.01 };
  const options = readUrlOptions(new URL(shareUrl('https://example.com/', { ...DRAWING, sampling })).search);
  assert.deepEqual(options.problems, []);
  const { conditionScale, topK, topP, temperature } = options.settings;
  assert.deepEqual({ conditionScale, topK, topP, temperature }, sampling);
});

void test('a link’s seed follows the seed field’s rule: leading zeros and spaces are the same seed', () => {
  assert.deepEqual(readUrlOptions('?seed=00000000042').settings, { seedText: '42', seedLocked: true });
  assert.deepEqual(readUrlOptions('?seed=%2042').settings, { seedText: '42', seedLocked: true });
  assert.equal(readUrlOptions('?seed=4294967296').problems.length, 1);
});

void test('no parameters: nothing set, no problems', () => {
  assert.deepEqual(readUrlOptions(''), { settings: {}, problems: [] });
  assert.deepEqual(readUrlOptions('?backend=auto'), { backend: 'auto', settings: {}, problems: [] });
});

void test('each bad parameter is named in a message and leaves its setting alone', () => {
  const options = readUrlOptions(
    '?seed=9007199254740993&images=10&scale=abc&top_k=1.5&top_p=0&temperature=0x1&candidates=65&model=../x&backend=cuda' +
      '&rank=yes&prompt=ok',
  );
  assert.deepEqual(options.settings, {});
  assert.equal(options.prompt, 'ok');
  assert.equal(options.model, undefined);
  assert.equal(options.backend, undefined);
  const names = ['images', 'scale', 'top_k', 'top_p', 'temperature', 'candidates', 'seed', 'model', 'backend', 'rank'];
  assert.equal(options.problems.length, names.length);
  for (const [i, name] of names.entries()) assert.match(options.problems[i]!, new RegExp(`The link's ${name}=`));
  assert.match(options.problems[0]!, /"10" is not usable \(Use a whole number from 1 to 9\.\)/);
  assert.match(options.problems[5]!, /"65" is not usable \(Use a whole number from 1 to 64\.\)/);
  assert.match(options.problems[9]!, /"yes" is not usable \(on or off\)/);
});

void test('an over-long prompt is refused, not cut', () => {
  const options = readUrlOptions(`?prompt=${'a'.repeat(2001)}`);
  assert.equal(options.prompt, undefined);
  assert.match(options.problems[0]!, /prompt=/);
});
