/** Short reads are errors, never zeros: a checkpoint that shrinks while read, a filesystem that answers in pieces. */
import assert from 'node:assert/strict';
import { mkdtempSync, readSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { forEachPiece, ShortReadError } from '../tools/node/read-fully.ts';
import type { ReadAt } from '../tools/node/read-fully.ts';
import { CheckpointError, FlaxCheckpoint } from '../tools/exporter/flax-msgpack.ts';
import { float32Array, map, str } from './helpers/msgpack-bytes.ts';

const dir = mkdtempSync(join(tmpdir(), 'short-read-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const first = Array.from({ length: 40 }, (_, i) => i + 0.5);
const second = Array.from({ length: 30 }, (_, i) => -i);
const file = join(dir, 'two.msgpack');
writeFileSync(file, Buffer.concat([map(2), str('first'), float32Array(first), str('second'), float32Array(second)]));

/** A filesystem that hands out at most `piece` bytes per call, and nothing after `limit` bytes in total. */
function stingyRead(piece: number, limit = Infinity): ReadAt {
  let delivered = 0;
  return (fd, buffer, offset, length, position) => {
    const n = readSync(fd, buffer, offset, Math.max(0, Math.min(length, piece, limit - delivered)), position);
    delivered += n;
    return n;
  };
}

void test('a filesystem that answers 3 bytes at a time still yields every byte', () => {
  const ckpt = FlaxCheckpoint.open(file, { readAt: stingyRead(3) });
  try {
    assert.deepEqual(Array.from(ckpt.readRange('first', 0, 40)), first);
    assert.deepEqual(Array.from(ckpt.readRange('second', 5, 25)), second.slice(5));
  } finally {
    ckpt.close();
  }
});

void test('a checkpoint truncated after it was opened fails on the tensor it cut, not with zeros', () => {
  const copy = join(dir, 'shrinking.msgpack');
  writeFileSync(copy, Buffer.concat([map(2), str('first'), float32Array(first), str('second'), float32Array(second)]));
  const ckpt = FlaxCheckpoint.open(copy);
  try {
    const cut = ckpt.leaf('second').segments[0]!.offset + 10;
    truncateSync(copy, cut);
    assert.deepEqual(Array.from(ckpt.readRange('first', 0, 40)), first, 'tensors before the cut still read');
    assert.throws(
      () => ckpt.readRange('second', 0, 30),
      (error: unknown) => {
        assert.ok(error instanceof CheckpointError);
        assert.match(
          error.message,
          /short read of tensor "second" \(got 10 of 120 bytes at offset \d+\): the file shrank/,
        );
        return true;
      },
    );
  } finally {
    ckpt.close();
  }
});

void test('a read that stops early while the structure is parsed is a CheckpointError', () => {
  assert.throws(
    () => FlaxCheckpoint.open(file, { readAt: stingyRead(7, 50) }),
    (error: unknown) => {
      assert.ok(error instanceof CheckpointError);
      assert.match(
        error.message,
        /short read in the top-level map \(got 0 of 1 bytes at offset \d+\): the file changed while being read/,
      );
      return true;
    },
  );
});

void test('hashing pieces of a file refuses one that shrinks or grows under it', () => {
  const data = join(dir, 'data.bin');
  writeFileSync(data, Buffer.alloc(100, 7));
  let seen = 0;
  assert.equal(
    forEachPiece(data, 16, (piece) => (seen += piece.length), stingyRead(5)),
    100,
  );
  assert.equal(seen, 100);
  assert.throws(() => forEachPiece(data, 16, () => undefined, stingyRead(16, 60)), ShortReadError);
  assert.throws(
    () => forEachPiece(data, 16, (piece) => piece.length === 16 && writeFileSync(data, Buffer.alloc(200, 1))),
    /grew past the 100 bytes/,
  );
});
