/**
 * transformers.js' BART tokenizer (from the tokenizer.json random checkpoints write, as the hub
 * repos do) against our hand-written BPE (src/text/bpe-tokenizer.ts), on the normalizer's output of
 * every tokenizer test prompt, the toy corpus and raw text with characters the vocab lacks.
 * docs/model-format.md#tokenizer records the outcome and why ours stays.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadTransformers } from '../src/pipeline/clip/transformers-runtime.ts';
import { BpeTokenizer } from '../src/text/bpe-tokenizer.ts';
import { normalizeText } from '../src/text/normalizer.ts';
import { CORPUS } from '../tools/exporter/toy-vocab.ts';
import { tinyCheckpoint } from './helpers/fixtures.ts';
import { ort } from './helpers/graphs.ts';

const PROMPTS = [
  ...CORPUS,
  'a photo of an astronaut riding a horse',
  'nuclear explosion broccoli',
  'Sunset over a lake, in the mountains!',
  'A photo of an astronaut (riding a horse)...',
  'Sooooo cute!!!! cat-dog',
  'Dali painting of WALL-E',
  "it's 3.5 inches and costs 1,000,000 dollars",
  '<p>Hello&amp;amp;World</p> see http://x.com/a.png',
  '10/12/2022 meeting: 50% off & more',
  'a/b test',
  '',
  'I ❤️ NY 👍🏽',
  'a 🐱 on a 🛋️',
  ' a red fox'.repeat(40),
];

/** Text the normalizer would never produce: characters outside the toy vocab's alphabet, odd spacing. */
const RAW = ['!', ' cat!', 'é', '  two  spaces ', 'ÀÉÎ ñ 中文 \t tab\nnewline'];

/** Our tokenizer and transformers.js' on the tiny checkpoint's files; `theirs` gives the ids of one text. */
async function bothTokenizers(): Promise<{ ours: BpeTokenizer; theirs: (text: string, options: object) => number[] }> {
  const { dalle } = tinyCheckpoint();
  const ours = BpeTokenizer.fromFiles(
    readFileSync(join(dalle, 'vocab.json'), 'utf8'),
    readFileSync(join(dalle, 'merges.txt'), 'utf8'),
  );
  const transformers = await loadTransformers(ort);
  const tokenizer = new transformers.PreTrainedTokenizer(
    JSON.parse(readFileSync(join(dalle, 'tokenizer.json'), 'utf8')) as object,
    {
      tokenizer_class: 'BartTokenizer',
      model_max_length: 1024,
      pad_token: '<pad>',
      bos_token: '<s>',
      eos_token: '</s>',
      unk_token: '<unk>',
    },
  );
  const theirs = (text: string, options: object): number[] =>
    (tokenizer(text, options).input_ids.tolist() as bigint[][])[0]!.map(Number);
  return { ours, theirs };
}

void test('transformers.js’ tokenizer gives exactly our ids on every normalized test prompt and on raw text', async () => {
  const { ours, theirs } = await bothTokenizers();
  for (const text of [...PROMPTS.map((prompt) => normalizeText(prompt)), ...RAW]) {
    assert.deepEqual(theirs(text, { add_special_tokens: false }), ours.encode(text), JSON.stringify(text));
    // The encoder's row, <s> … </s> padded to 64, where nothing is cut.
    const row = ours.encodePrompt(text).ids;
    if (ours.encode(text).length <= 62)
      assert.deepEqual(
        theirs(text, { padding: 'max_length', truncation: true, max_length: 64 }),
        row,
        JSON.stringify(text),
      );
  }
});

void test('the one difference: transformers.js cuts a long prompt after adding </s>, Python and ours keep </s>', async () => {
  const { ours, theirs } = await bothTokenizers();
  const text = normalizeText(' a red fox'.repeat(40));
  const cut = theirs(text, { truncation: true, max_length: 64 });
  const row = ours.encodePrompt(text).ids;
  assert.deepEqual(cut.slice(0, 63), row.slice(0, 63));
  assert.equal(row[63], 2, 'ours ends with </s>, as HF Python does');
  assert.notEqual(cut[63], 2, 'transformers.js 4.3 ends with a content token');
});
