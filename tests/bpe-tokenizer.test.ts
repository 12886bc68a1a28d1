import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpeTokenizer, pretokenize } from '../src/text/bpe-tokenizer.ts';
import { BASE_SYMBOLS, FIRST_MERGE_ID, toyVocabFiles, trainToyVocab } from '../tools/exporter/toy-vocab.ts';

const MERGES = 400;
const files = toyVocabFiles(MERGES);
const tokenizer = BpeTokenizer.fromFiles(files['vocab.json'], files['merges.txt']);

/** Hand-written vocab for checking that merges apply by rank, not by position. */
function handTokenizer(merges: string[]): BpeTokenizer {
  const tokens = ['<s>', '<pad>', '</s>', '<unk>', 'a', 'b', 'c', 'ab', 'bc', 'abc'];
  const vocab = Object.fromEntries(tokens.map((t, i) => [t, i]));
  return BpeTokenizer.fromFiles(JSON.stringify(vocab), ['#version: 0.2', ...merges].join('\n'));
}

await test('round-trips normalised text through encode/decode', () => {
  const text = ' a photo of an astronaut';
  assert.equal(tokenizer.decode(tokenizer.encode(text)), text);
});

await test('encodes frequent corpus words as single tokens', () => {
  const ids = tokenizer.encode(' a photo of an astronaut riding a horse');
  assert.deepEqual(
    ids.map((id) => tokenizer.decode([id])),
    [' a', ' photo', ' of', ' an', ' astronaut', ' riding', ' a', ' horse'],
  );
});

await test('maps characters outside the base alphabet to <unk> = 3', () => {
  assert.deepEqual(tokenizer.encode('!'), [3]);
  assert.equal(tokenizer.encode(' cat!').at(-1), 3);
  // é is two UTF-8 bytes, each its own unknown byte symbol.
  assert.deepEqual(tokenizer.encode('é'), [3, 3]);
});

await test('pre-tokenises GPT-2 style with Ġ for the leading space', () => {
  assert.deepEqual(pretokenize(" the cat's hat, 50 %"), ['Ġthe', 'Ġcat', "'s", 'Ġhat', ',', 'Ġ50', 'Ġ%']);
});

await test('applies merges by rank', () => {
  assert.deepEqual(handTokenizer(['a b', 'ab c']).encode('abc'), [9]);
  assert.deepEqual(handTokenizer(['b c', 'a b']).encode('abc'), [4, 8]);
});

await test('gives the unconditional row for the empty prompt', () => {
  const { ids, attentionMask } = tokenizer.encodePrompt('');
  assert.deepEqual(ids, [0, 2, ...Array<number>(62).fill(1)]);
  assert.deepEqual(attentionMask, [1, 1, ...Array<number>(62).fill(0)]);
});

await test('pads a short prompt with <pad> and masks the padding', () => {
  const { ids, attentionMask } = tokenizer.encodePrompt(' avocado armchair');
  const content = tokenizer.encode(' avocado armchair');
  assert.deepEqual(ids.slice(0, content.length + 2), [0, ...content, 2]);
  assert.equal(ids.length, 64);
  assert.deepEqual(
    attentionMask,
    ids.map((id) => (id === 1 ? 0 : 1)),
  );
});

await test('truncates to 62 content tokens and keeps </s>', () => {
  const text = ' a red fox'.repeat(40);
  const content = tokenizer.encode(text);
  assert.ok(content.length > 62);
  const { ids, attentionMask } = tokenizer.encodePrompt(text);
  assert.deepEqual(ids, [0, ...content.slice(0, 62), 2]);
  assert.ok(attentionMask.every((m) => m === 1));
});

await test('toy vocab is byte-identical across runs', () => {
  assert.deepEqual(toyVocabFiles(MERGES), files);
});

await test('toy vocab has specials, 50 base symbols, then one id per merge', () => {
  const vocab = JSON.parse(files['vocab.json']) as Record<string, number>;
  const entries = Object.entries(vocab);
  assert.equal(BASE_SYMBOLS.length, 50);
  assert.equal(entries.length, FIRST_MERGE_ID + MERGES);
  assert.equal(FIRST_MERGE_ID, 55);
  assert.equal(new Set(entries.map(([, id]) => id)).size, entries.length);
  const expectedHead = ['<s>', '<pad>', '</s>', '<unk>', '<mask>', ...BASE_SYMBOLS];
  expectedHead.forEach((token, id) => assert.equal(vocab[token], id));
  assert.equal(vocab['Ġ'], 54);
});

await test('toy merges are pairs of existing tokens whose result has the next id', () => {
  const { vocab, merges } = trainToyVocab(MERGES);
  const lines = files['merges.txt'].trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^#version: 0\.2/);
  assert.deepEqual(lines.slice(1), merges);
  merges.forEach((line, i) => {
    const [left = '', right = ''] = line.split(' ');
    const id = FIRST_MERGE_ID + i;
    assert.ok((vocab[left] ?? Infinity) < id, `left of ${line}`);
    assert.ok((vocab[right] ?? Infinity) < id, `right of ${line}`);
    assert.equal(vocab[left + right], id);
  });
});
