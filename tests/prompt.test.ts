import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BpeTokenizer } from '../src/text/bpe-tokenizer.ts';
import { MAX_PROMPT_CHARS, PromptError } from '../src/text/prompt-checks.ts';
import { preparePrompt, unconditionalPrompt } from '../src/text/prompt.ts';
import { WordSegmenter } from '../src/text/word-segmenter.ts';
import type { ModelManifest } from '../src/model/manifest.ts';
import { toyVocabFiles } from '../tools/exporter/toy-vocab.ts';
import { tinyModel } from './helpers/fixtures.ts';

const files = toyVocabFiles();
const tokenizer = BpeTokenizer.fromFiles(files['vocab.json'], files['merges.txt']);
const UNK = 3;

/** The prompts of docs/model-format.md#test-vectors and what the normaliser makes of them. */
const SPEC_PROMPTS: [string, string][] = [
  ['a photo of an astronaut riding a horse', ' a photo of an astronaut riding a horse'],
  ['sunset over a lake in the mountains', ' sunset over a lake in the mountains'],
  ['nuclear explosion broccoli', ' nuclear explosion broccoli'],
  ['avocado armchair', ' avocado armchair'],
  ['Sunset over a lake, in the mountains!', ' sunset over a lake, in the mountains'],
  ['A photo of an astronaut (riding a horse)...', ' a photo of an astronaut, riding a horse'],
  ['Sooooo cute!!!! cat-dog', ' so cute, cat dog'],
  ['Dali painting of WALL-E', ' dali painting of wall e'],
];

void test('tokenizes the test-vector prompts (docs/model-format.md#test-vectors): <s>, content, </s>, then padding', () => {
  for (const [prompt, normalized] of SPEC_PROMPTS) {
    const row = preparePrompt(prompt, tokenizer, { seed: 0 });
    assert.equal(row.normalized, normalized, prompt);
    const content = tokenizer.encode(normalized);
    assert.deepEqual(row.ids, [0, ...content, 2, ...Array<number>(62 - content.length).fill(1)], prompt);
    assert.deepEqual(
      row.attentionMask,
      row.ids.map((id) => (id === 1 ? 0 : 1)),
      prompt,
    );
  }
});

void test('normalisation keeps punctuation away from <unk>, unlike min-dalle style raw text', () => {
  const prompt = 'Sunset over a lake, in the mountains!';
  assert.ok(!preparePrompt(prompt, tokenizer, { seed: 0 }).ids.includes(UNK));
  // min-dalle only lowercases: the "!" has no token.
  assert.ok(tokenizer.encode(` ${prompt.toLowerCase()}`).includes(UNK));
  // docs/model-format.md#test-vectors: the DM row is the plain prompt's row with one comma token added.
  const plain = tokenizer.encode(' sunset over a lake in the mountains');
  const content = tokenizer.encode(' sunset over a lake, in the mountains');
  assert.equal(content.length, plain.length + 1);
});

void test('the unconditional row is the unnormalised empty prompt', () => {
  const row = unconditionalPrompt(tokenizer);
  assert.deepEqual(row.ids, [0, 2, ...Array<number>(62).fill(1)]);
  assert.deepEqual(row.attentionMask, [1, 1, ...Array<number>(62).fill(0)]);
  assert.deepEqual(unconditionalPrompt(tokenizer, 8).ids, [0, 2, 1, 1, 1, 1, 1, 1]);
});

void test('honours maxLength and keeps </s> when truncating', () => {
  const row = preparePrompt('a red fox '.repeat(30), tokenizer, { seed: 0, maxLength: 16 });
  assert.equal(row.ids.length, 16);
  assert.equal(row.ids.at(-1), 2);
});

void test('says which end of a prompt the model does not read, and nothing when all of it fits', () => {
  const short = preparePrompt('a red fox in the snow', tokenizer, { seed: 0, maxLength: 16 });
  assert.equal(short.ignoredText, '');
  const long = preparePrompt('a red fox in the snow at night under a full moon', tokenizer, { seed: 0, maxLength: 8 });
  const content = tokenizer.encode(long.normalized);
  assert.ok(content.length > 6);
  assert.deepEqual(long.ids.slice(1, 7), content.slice(0, 6));
  assert.equal(long.ignoredText, tokenizer.decode(content.slice(6)).trim());
  assert.ok(long.ignoredText.endsWith('full moon'));
});

void test('the ignored end is quoted as the visitor typed it: capitals, Chinese, a word the cut splits whole', () => {
  const typed = 'A Red Fox in the Snow, at Night under a FULL Moon!';
  const { ignoredText } = preparePrompt(typed, tokenizer, { seed: 0, maxLength: 8 });
  assert.ok(ignoredText.length > 0 && typed.endsWith(ignoredText), ignoredText);
  assert.ok(typed.slice(0, -ignoredText.length).endsWith(' '), `starts at a word: ${ignoredText}`);
  const chinese = '埃菲尔铁塔旁边的一只红色狐狸，水彩画，在雪中的夜晚，满月';
  const cut = preparePrompt(chinese, tokenizer, { seed: 0, maxLength: 12 });
  assert.ok(cut.ignoredText.length > 0 && chinese.endsWith(cut.ignoredText), cut.ignoredText);
  assert.doesNotMatch(cut.ignoredText, /[a-z]/, 'not the pinyin the model reads');
  // A first word too long to fit is cut inside it, not reported whole with everything after it.
  const longFirst = `${'pneumonoultramicroscopicsilicovolcanoconiosis'.repeat(2)} and a red fox`;
  const inside = preparePrompt(longFirst, tokenizer, { seed: 0, maxLength: 8 }).ignoredText;
  assert.ok(inside.length > 0 && inside.length < longFirst.length && longFirst.endsWith(inside), inside);
  // Emoji stay whole (skin tones, joined families): the quote never starts with half of one.
  const emoji = '👍🏽👨‍👩‍👧'.repeat(12);
  const quoted = preparePrompt(emoji, tokenizer, { seed: 0, maxLength: 8 }).ignoredText;
  assert.ok(quoted.startsWith('👍🏽') || quoted.startsWith('👨‍👩‍👧'), quoted);
});

void test('a prompt of emoji is words enough to draw from', () => {
  assert.doesNotThrow(() => preparePrompt('🐱 🌙', tokenizer, { seed: 0 }));
});

void test('refuses prompts the model cannot use, with messages a person can act on', () => {
  for (const empty of ['', '   ', '\n\t']) {
    assert.throws(() => preparePrompt(empty, tokenizer, { seed: 0 }), {
      name: 'PromptError',
      message: 'Type a prompt to draw',
    });
  }
  const long = 'a'.repeat(MAX_PROMPT_CHARS + 1);
  assert.throws(
    () => preparePrompt(long, tokenizer, { seed: 0 }),
    (error: unknown) => {
      assert.ok(error instanceof PromptError);
      assert.match(error.message, /2001 characters.*at most 2000/);
      return true;
    },
  );
  assert.doesNotThrow(() => preparePrompt('a'.repeat(MAX_PROMPT_CHARS), tokenizer, { seed: 0 }));
  for (const noWords of ['!!!', '... ---', '()', '"', '@@@', '# * ~']) {
    assert.throws(
      () => preparePrompt(noWords, tokenizer, { seed: 0 }),
      (error: unknown) => {
        assert.ok(error instanceof PromptError);
        assert.match(error.message, /no words/);
        return true;
      },
    );
  }
});

void test('the seed fixes the <person> draws', () => {
  const prompt = 'a photo of <person> next to <person> and a dog';
  const normalizedFor = (seed: number) => preparePrompt(prompt, tokenizer, { seed }).normalized;
  assert.equal(normalizedFor(42), normalizedFor(42));
  assert.deepEqual(preparePrompt(prompt, tokenizer, { seed: 42 }), preparePrompt(prompt, tokenizer, { seed: 42 }));
  const variants = new Set(Array.from({ length: 50 }, (_, seed) => normalizedFor(seed)));
  assert.ok(variants.size > 1, 'different seeds draw differently');
  for (const text of variants)
    assert.match(text, /^ a photo of (a person|someone|somebody) next to (a person|someone|somebody) and a dog$/);
});

void test('passes the word list on to hashtag splitting', () => {
  const words = new WordSegmenter('the 9\nover 8\nlake 7\nsunset 6\n');
  assert.equal(
    preparePrompt('#sunsetoverthelake', tokenizer, { seed: 0, wordSegmenter: words }).normalized,
    ' sunset over the lake',
  );
  assert.equal(preparePrompt('#sunsetoverthelake', tokenizer, { seed: 0 }).normalized, ' sunsetoverthelake');
});

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');

async function tokenizeCli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', 'tools/tokenize.ts', ...args], { cwd: ROOT });
}

void test('tools/tokenize.ts prints the normalised text and the ids up to </s>', async () => {
  const model = tinyModel('fp32');
  const { stdout } = await tokenizeCli('--model', model, 'Sunset over a lake, in the mountains!', '--seed', '3');
  const out = JSON.parse(stdout) as { normalized: string; ids: number[] };
  assert.equal(out.normalized, ' sunset over a lake, in the mountains');
  const modelTokenizer = BpeTokenizer.fromFiles(
    readFileSync(join(model, 'vocab.json'), 'utf8'),
    readFileSync(join(model, 'merges.txt'), 'utf8'),
  );
  assert.deepEqual(out.ids, [0, ...modelTokenizer.encode(out.normalized), 2]);
});

void test('tools/tokenize.ts explains a prompt it cannot use and exits non-zero', async () => {
  const model = tinyModel('fp32');
  await assert.rejects(tokenizeCli('--model', model, '?!'), (error: unknown) => {
    const failure = error as { code?: number; stderr?: string };
    assert.equal(failure.code, 1);
    assert.match(failure.stderr ?? '', /^error: The prompt has no words/m);
    assert.doesNotMatch(failure.stderr ?? '', /\n\s+at /, 'no stack trace');
    return true;
  });
});

void test('tools/tokenize.ts splits hashtags when the manifest lists a word list', async () => {
  const model = tinyModel('fp32');
  // The tokenizer files only: the CLI never opens the graphs the manifest also lists.
  const dir = mkdtempSync(join(tmpdir(), 'tokenize-words-'));
  try {
    for (const file of ['vocab.json', 'merges.txt']) copyFileSync(join(model, file), join(dir, file));
    const words = 'the 900\nover 800\nlake 700\nsunset 600\n';
    writeFileSync(join(dir, 'enwiki-words-frequency.txt'), words);
    const manifest = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8')) as ModelManifest;
    const entry = {
      path: 'enwiki-words-frequency.txt',
      bytes: Buffer.byteLength(words),
      sha256: createHash('sha256').update(words).digest('hex'),
    };
    const withWords = {
      ...manifest,
      tokenizer: { ...manifest.tokenizer, wordFrequencies: entry.path },
      files: [...manifest.files, entry],
    };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(withWords));
    const { stdout } = await tokenizeCli('--model', dir, '#SunsetOverTheLake');
    assert.equal((JSON.parse(stdout) as { normalized: string }).normalized, ' sunset over the lake');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
