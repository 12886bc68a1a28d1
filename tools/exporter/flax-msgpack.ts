/**
 * Flax `serialization.msgpack_serialize` files, read as streams.
 *
 * The released checkpoints are up to 10.4 GB, past what one Node buffer holds, so the reader walks
 * the msgpack structure with positional reads and records where each array's bytes live; tensors
 * are then read one at a time (or one layer slice at a time). Every read must deliver every byte it
 * asked for (a short read is an error, never zeros), and every value must be finite. Layout:
 * docs/model-format.md#flax-msgpack.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { bfloat16ToFloat32, float16ToFloat32 } from '../../src/model/half.ts';
import { readAt as readSyncAt, readFully } from '../node/read-fully.ts';
import type { ReadAt } from '../node/read-fully.ts';
import { CheckpointError } from './checkpoint-error.ts';
import { CHUNKED, chunkedToLeaf, DTYPE_BYTES, elementCount, isLeaf } from './flax-leaf.ts';
import type { FlaxDtype, FlaxLeaf } from './flax-leaf.ts';
import { FileCursor } from './msgpack-cursor.ts';
import { readValue } from './msgpack-values.ts';
import type { Value } from './msgpack-values.ts';

export { CheckpointError } from './checkpoint-error.ts';
export type { FlaxDtype, FlaxLeaf } from './flax-leaf.ts';

export interface OpenOptions {
  /** Stands in for `readSync` (tests use it to answer in pieces or stop early). */
  readonly readAt?: ReadAt;
}

function collectLeaves(value: Value, path: string, file: string, out: Map<string, FlaxLeaf>): void {
  const add = (leaf: FlaxLeaf): void => {
    // Keys may contain "/", so {"a/b": x} and {"a": {"b": y}} would both be "a/b".
    if (out.has(path)) throw new CheckpointError(`${file}: two tensors have the path "${path}"; the file is corrupt`);
    out.set(path, leaf);
  };
  if (isLeaf(value)) {
    add({ ...value, path });
  } else if (value instanceof Map) {
    if (value.get(CHUNKED) === true) {
      add(chunkedToLeaf(value, path, file));
      return;
    }
    for (const [key, child] of value) collectLeaves(child, path ? `${path}/${key}` : key, file, out);
  }
}

/** An opened checkpoint: the index of its arrays, read lazily from the file. */
export class FlaxCheckpoint {
  private constructor(
    readonly file: string,
    private readonly fd: number,
    readonly leaves: ReadonlyMap<string, FlaxLeaf>,
    private readonly read: ReadAt,
  ) {}

  static open(file: string, options: OpenOptions = {}): FlaxCheckpoint {
    const read = options.readAt ?? readSyncAt;
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (error) {
      throw new CheckpointError(`${file}: cannot open (${(error as Error).message})`);
    }
    try {
      const stats = fstatSync(fd);
      if (!stats.isFile())
        throw new CheckpointError(`${file} is not a regular file; give the checkpoint's flax_model.msgpack`);
      const cursor = new FileCursor(fd, stats.size, file, read);
      const root = readValue(cursor, '');
      if (!(root instanceof Map)) throw new CheckpointError(`${file}: top level is not a msgpack map`);
      if (cursor.pos !== stats.size)
        throw new CheckpointError(`${file}: ${stats.size - cursor.pos} unexpected bytes after the msgpack map`);
      const leaves = new Map<string, FlaxLeaf>();
      collectLeaves(root, '', file, leaves);
      return new FlaxCheckpoint(file, fd, leaves, read);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  leaf(path: string): FlaxLeaf {
    const leaf = this.leaves.get(path);
    if (!leaf) throw new CheckpointError(`${this.file}: tensor "${path}" is missing`);
    return leaf;
  }

  /** Reads `count` elements starting at element `start` of a leaf, converted to float32. */
  readRange(path: string, start: number, count: number): Float32Array {
    const leaf = this.leaf(path);
    if (!(start >= 0 && count >= 0 && start + count <= elementCount(leaf.shape))) {
      throw new RangeError(
        `elements ${start} … ${start + count - 1} are outside tensor "${path}" [${leaf.shape.join(', ')}]`,
      );
    }
    const width = DTYPE_BYTES[leaf.dtype];
    const bytes = Buffer.alloc(count * width);
    let want = start * width;
    let filled = 0;
    for (const segment of leaf.segments) {
      if (filled === bytes.length) break;
      if (want >= segment.length) {
        want -= segment.length;
        continue;
      }
      const n = Math.min(segment.length - want, bytes.length - filled);
      const got = readFully(this.read, this.fd, bytes, filled, n, segment.offset + want);
      if (got < n) {
        throw new CheckpointError(
          `${this.file}: short read of tensor "${path}" (got ${got} of ${n} bytes at offset ${segment.offset + want}): the file shrank or changed while being read, or the filesystem failed. Check the file and export again`,
        );
      }
      filled += n;
      want = 0;
    }
    const values = decode(bytes, leaf.dtype);
    checkFinite(values, this.file, path, start);
    return values;
  }
}

/** NaN or ±Infinity in a weight would pass through every graph and end as logits nothing can sample from. */
function checkFinite(values: Float32Array, file: string, path: string, start: number): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new CheckpointError(
        `${file}: tensor "${path}" holds ${values[i]} at element ${start + i}; the checkpoint is corrupt: download or re-create it`,
      );
    }
  }
}

function decode(bytes: Buffer, dtype: FlaxDtype): Float32Array {
  if (dtype === 'float32') {
    const out = new Float32Array(bytes.length / 4);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const halves = new Uint16Array(bytes.length / 2);
  new Uint8Array(halves.buffer).set(bytes);
  return dtype === 'float16' ? float16ToFloat32(halves) : bfloat16ToFloat32(halves);
}
