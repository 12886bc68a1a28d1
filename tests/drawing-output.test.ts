/** generate's --out holds one drawing: a new one replaces the earlier one's files, and only those generate wrote. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeDrawing } from '../tools/node/drawing-output.ts';

const root = mkdtempSync(join(tmpdir(), 'drawing-output-'));
after(() => rmSync(root, { recursive: true, force: true }));

const files = (entries: [string, string][]): Map<string, Uint8Array | string> => new Map(entries);

void test('a smaller, unranked drawing leaves no image or scores of the ranked one before it; others’ files stay', () => {
  const dir = join(root, 'a');
  mkdirSync(dir);
  for (const name of ['image-5.png', 'notes.txt']) writeFileSync(join(dir, name), 'mine');
  writeDrawing(
    dir,
    files([
      ['image-0.png', 'ranked 0'],
      ['image-1.png', 'ranked 1'],
      ['scores.json', '{}\n'],
    ]),
  );
  const stale = writeDrawing(dir, new Map<string, Uint8Array | string>([['image-0.png', new Uint8Array([1, 2])]]));
  assert.deepEqual(stale.sort(), ['image-1.png', 'scores.json']);
  assert.deepEqual(readdirSync(dir).sort(), ['.drawing.json', 'image-0.png', 'image-5.png', 'notes.txt']);
  assert.deepEqual([...readFileSync(join(dir, 'image-0.png'))], [1, 2]);
  assert.equal(readFileSync(join(dir, 'image-5.png'), 'utf8'), 'mine', 'never written by generate: kept');
});

void test('a drawing that cannot be written whole leaves the one before as it was, and nothing aside', () => {
  const dir = join(root, 'b');
  mkdirSync(dir);
  writeDrawing(
    dir,
    files([
      ['image-0.png', 'old'],
      ['tokens.json', '[[1]]\n'],
    ]),
  );
  // The second file fails to write (a value no file holds) after the first was written aside.
  const failing = files([
    ['image-0.png', 'new'],
    ['tokens.json', '[[2],[3]]\n'],
  ]);
  failing.set('image-1.png', 5 as unknown as string);
  assert.throws(() => writeDrawing(dir, failing));
  assert.equal(readFileSync(join(dir, 'image-0.png'), 'utf8'), 'old');
  assert.equal(readFileSync(join(dir, 'tokens.json'), 'utf8'), '[[1]]\n');
  assert.deepEqual(readdirSync(dir).sort(), ['.drawing.json', 'image-0.png', 'tokens.json']);
});

void test('a folder an older generate wrote (no record) loses the earlier drawing’s files by their names', () => {
  const dir = join(root, 'c');
  mkdirSync(dir);
  for (const name of ['image-0.png', 'image-4.png', 'scores.json', 'notes.txt'])
    writeFileSync(join(dir, name), 'older');
  const stale = writeDrawing(
    dir,
    files([
      ['image-0.png', 'new'],
      ['tokens.json', '[[1]]\n'],
    ]),
  );
  assert.deepEqual(stale.sort(), ['image-4.png', 'scores.json']);
  assert.deepEqual(readdirSync(dir).sort(), ['.drawing.json', 'image-0.png', 'notes.txt', 'tokens.json']);
});
