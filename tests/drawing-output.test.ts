/** generate's --out holds one drawing: a new one replaces the earlier one's files, and only those. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeDrawing } from '../tools/node/drawing-output.ts';

const dir = mkdtempSync(join(tmpdir(), 'drawing-output-'));
after(() => rmSync(dir, { recursive: true, force: true }));

void test('a smaller, unranked drawing leaves no image or scores of the ranked one before it', () => {
  for (const name of ['image-0.png', 'image-1.png', 'image-8.png', 'scores.json', 'notes.txt', 'image-x.png'])
    writeFileSync(join(dir, name), 'earlier');
  const stale = writeDrawing(
    dir,
    new Map<string, Uint8Array | string>([
      ['image-0.png', new Uint8Array([1, 2])],
      ['tokens.json', '[]\n'],
    ]),
  );
  assert.deepEqual(stale.sort(), ['image-1.png', 'image-8.png', 'scores.json']);
  assert.deepEqual(readdirSync(dir).sort(), ['image-0.png', 'image-x.png', 'notes.txt', 'tokens.json']);
  assert.deepEqual([...readFileSync(join(dir, 'image-0.png'))], [1, 2]);
});
