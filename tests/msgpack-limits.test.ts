/**
 * Hostile checkpoints and configs: duplicate keys, deep nesting, impossible counts and shapes fail
 * as CheckpointError/ConfigError.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, parseDalleBartConfig, parseVqganConfig } from '../src/model/config.ts';
import { CheckpointError, FlaxCheckpoint } from '../tools/exporter/flax-msgpack.ts';
import { float32Array, map, ndarray, str } from './helpers/msgpack-bytes.ts';

const dir = mkdtempSync(join(tmpdir(), 'msgpack-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function refused(bytes: Buffer, message: RegExp): void {
  const file = join(dir, 'case.msgpack');
  writeFileSync(file, bytes);
  assert.throws(
    () => FlaxCheckpoint.open(file).close(),
    (error: unknown) => {
      assert.ok(error instanceof CheckpointError, `${String(error)} is not a CheckpointError`);
      assert.match(error.message, message);
      return true;
    },
  );
}

void test('a key that appears twice in a map is refused, not overwritten', () => {
  refused(
    Buffer.concat([map(2), str('w'), float32Array([1]), str('w'), float32Array([2])]),
    /key "w" appears twice in "" \(again at offset \d+\)/,
  );
  refused(
    Buffer.concat([map(1), str('a'), map(2), str('7'), Buffer.from([0xc0]), Buffer.from([7]), Buffer.from([0xc0])]),
    /key "7" appears twice in "a"/,
  );
  // "a/b" as one key and as a nested path would name the same tensor.
  refused(
    Buffer.concat([map(2), str('a/b'), float32Array([1]), str('a'), map(1), str('b'), float32Array([2])]),
    /two tensors have the path "a\/b"/,
  );
});

void test('200 000 nested maps or arrays stop at the depth bound instead of overflowing the stack', () => {
  const nestedMaps = Buffer.concat([Buffer.alloc(200_000 * 3).fill(Buffer.from([0x81, 0xa1, 0x61])), map(0)]);
  refused(nestedMaps, /msgpack nests deeper than 64 levels at offset \d+ \(in "a\/a\/a/);
  refused(
    Buffer.concat([map(1), str('x'), Buffer.alloc(200_000, 0x91), Buffer.from([0xc0])]),
    /nests deeper than 64 levels/,
  );
});

void test('counts and shapes the file cannot hold are refused before any allocation', () => {
  refused(
    Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x61]),
    /truncated msgpack in the top-level map \(8589934590 elements announced/,
  );
  refused(
    Buffer.concat([map(1), str('w'), Buffer.from([0xdd, 0x7f, 0xff, 0xff, 0xff, 0xc0])]),
    /truncated msgpack in "w" \(2147483647 elements announced/,
  );
  refused(
    Buffer.concat([map(1), str('w'), ndarray([0xff], 'float32', new Uint8Array(4))]),
    /array "w" has an invalid shape/,
  );
  const chunked = (shapeKey: string): Buffer =>
    Buffer.concat([
      map(1),
      str('big'),
      map(3),
      str('__msgpack_chunked_array__'),
      Buffer.from([0xc3]),
      str('shape'),
      map(1),
      str(shapeKey),
      Buffer.from([1]),
      str('chunks'),
      map(1),
      str('0'),
      float32Array([5]),
    ]);
  writeFileSync(join(dir, 'ok.msgpack'), chunked('0'));
  const ckpt = FlaxCheckpoint.open(join(dir, 'ok.msgpack'));
  assert.deepEqual(Array.from(ckpt.readRange('big', 0, 1)), [5]);
  ckpt.close();
  refused(chunked('x'), /chunked array "big" has an invalid shape/);
});

void test('a config.json that is not an object is a ConfigError naming the file', () => {
  for (const value of [null, 3, 'text', [1, 2]]) {
    assert.throws(
      () => parseDalleBartConfig(value, 'dalle/config.json'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /^dalle\/config\.json must hold a JSON object, got (null|number|string|an array);/);
        return true;
      },
    );
    assert.throws(() => parseVqganConfig(value, 'vqgan/config.json'), ConfigError);
  }
});
