/** The streaming flax msgpack reader on hand-built files: dtypes, the chunked-array form, errors. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { float32ToFloat16 } from '../src/model/half.ts';
import { FlaxCheckpoint } from '../tools/exporter/flax-msgpack.ts';
import { writeFlaxMsgpack } from '../tools/exporter/flax-msgpack-writer.ts';
import { map, ndarray, str } from './helpers/msgpack-bytes.ts';

const dir = mkdtempSync(join(tmpdir(), 'msgpack-'));
after(() => rmSync(dir, { recursive: true, force: true }));

void test('float16, bfloat16 and chunked arrays read back as float32', () => {
  const half = float32ToFloat16(Float32Array.from([1.5, -2, 0.25]));
  const bf16 = Uint16Array.from([0x3fc0, 0xc000]); // 1.5, -2
  const chunk = (values: number[]): Buffer =>
    ndarray([values.length], 'float32', new Uint8Array(Float32Array.from(values).buffer));
  const file = join(dir, 'mixed.msgpack');
  writeFileSync(
    file,
    Buffer.concat([
      map(3),
      str('half'),
      ndarray([3], 'float16', new Uint8Array(half.buffer)),
      str('brain'),
      ndarray([2, 1], 'bfloat16', new Uint8Array(bf16.buffer)),
      str('big'),
      map(3),
      str('__msgpack_chunked_array__'),
      Buffer.from([0xc3]),
      str('shape'),
      map(2),
      str('0'),
      Buffer.from([2]),
      str('1'),
      Buffer.from([2]),
      str('chunks'),
      map(2),
      str('0'),
      chunk([1, 2, 3]),
      str('1'),
      chunk([4]),
    ]),
  );
  const ckpt = FlaxCheckpoint.open(file);
  try {
    assert.deepEqual(Array.from(ckpt.readRange('half', 0, 3)), [1.5, -2, 0.25]);
    assert.deepEqual(ckpt.leaf('brain').shape, [2, 1]);
    assert.deepEqual(Array.from(ckpt.readRange('brain', 0, 2)), [1.5, -2]);
    assert.deepEqual(ckpt.leaf('big').shape, [2, 2]);
    assert.deepEqual(Array.from(ckpt.readRange('big', 1, 3)), [2, 3, 4], 'reads across chunk boundaries');
  } finally {
    ckpt.close();
  }
});

void test('the writer and reader agree on nested trees', () => {
  const file = join(dir, 'tree.msgpack');
  const fd = openSync(file, 'w');
  writeFlaxMsgpack(fd, {
    a: { b: { shape: [2, 3], fill: () => Float32Array.from([0, 1, 2, 3, 4, 5]) } },
    c: { shape: [1], fill: () => Float32Array.from([7]) },
  });
  closeSync(fd);
  const ckpt = FlaxCheckpoint.open(file);
  assert.deepEqual([...ckpt.leaves.keys()], ['a/b', 'c']);
  assert.deepEqual(Array.from(ckpt.readRange('a/b', 3, 3)), [3, 4, 5]);
  assert.throws(() => ckpt.leaf('a/x'), /tensor "a\/x" is missing/);
  ckpt.close();
});

void test('a byte count that disagrees with the shape names the tensor', () => {
  const file = join(dir, 'bad.msgpack');
  writeFileSync(file, Buffer.concat([map(1), str('w'), ndarray([3], 'float32', new Uint8Array(8))]));
  assert.throws(() => FlaxCheckpoint.open(file), /array "w" holds 8 bytes, shape \[3\] float32 needs 12/);
  writeFileSync(file, Buffer.concat([map(1), str('w'), ndarray([2], 'int32', new Uint8Array(8))]));
  assert.throws(() => FlaxCheckpoint.open(file), /array "w" has unsupported dtype "int32"/);
});
