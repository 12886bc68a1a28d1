/**
 * Flax `serialization.msgpack_serialize` files, read and written as streams.
 *
 * The released checkpoints are up to 10.4 GB, past what one Node buffer holds, so the reader walks
 * the msgpack structure with positional reads and records where each array's bytes live; tensors
 * are then read one at a time (or one layer slice at a time). Array leaves are ext type 1 whose
 * payload is `[shape, dtype name, raw little-endian bytes]`; leaves over 2^30 bytes use flax's
 * `__msgpack_chunked_array__` map form (spec §2.5).
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { ExpectedError } from '../../src/expected-error.ts';
import { bfloat16ToFloat32, float16ToFloat32 } from '../../src/model/half.ts';

export type FlaxDtype = 'float32' | 'float16' | 'bfloat16';
const DTYPE_BYTES: Record<FlaxDtype, number> = { float32: 4, float16: 2, bfloat16: 2 };

export interface FlaxLeaf {
  readonly path: string;
  readonly shape: readonly number[];
  readonly dtype: FlaxDtype;
  /** Byte ranges in the file that, concatenated, hold the C-order data. */
  readonly segments: readonly { offset: number; length: number }[];
}

export class CheckpointError extends ExpectedError {
  override name = 'CheckpointError';
}

const EXT_NDARRAY = 1;
const EXT_NPSCALAR = 3;
const CHUNKED = '__msgpack_chunked_array__';

/** A buffered forward reader over a file descriptor. */
class FileCursor {
  private buffer = Buffer.alloc(1 << 16);
  private start = 0; // file offset of buffer[0]
  private end = 0; // file offset one past the valid bytes
  pos = 0;
  /** The tree path being parsed, so a truncation names the tensor it cut. */
  context = '';
  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly file: string,
  ) {}

  private fill(need: number): void {
    if (this.pos >= this.start && this.pos + need <= this.end) return;
    if (this.pos + need > this.size) {
      throw new CheckpointError(`${this.file}: truncated msgpack in "${this.context}" (needed ${need} bytes at offset ${this.pos}, file has ${this.size})`);
    }
    if (need > this.buffer.length) this.buffer = Buffer.alloc(need);
    const read = readSync(this.fd, this.buffer, 0, this.buffer.length, this.pos);
    this.start = this.pos;
    this.end = this.pos + read;
  }
  u8(): number {
    this.fill(1);
    return this.buffer[this.pos++ - this.start]!;
  }
  bytes(n: number): Buffer {
    this.fill(n);
    const offset = this.pos - this.start;
    this.pos += n;
    return Buffer.from(this.buffer.subarray(offset, offset + n));
  }
  uint(n: 1 | 2 | 4 | 8): number {
    const b = this.bytes(n);
    if (n === 1) return b.readUInt8(0);
    if (n === 2) return b.readUInt16BE(0);
    if (n === 4) return b.readUInt32BE(0);
    return Number(b.readBigUInt64BE(0));
  }
  int(n: 1 | 2 | 4 | 8): number {
    const b = this.bytes(n);
    if (n === 1) return b.readInt8(0);
    if (n === 2) return b.readInt16BE(0);
    if (n === 4) return b.readInt32BE(0);
    return Number(b.readBigInt64BE(0));
  }
  skip(n: number): void {
    if (this.pos + n > this.size) {
      throw new CheckpointError(`${this.file}: truncated msgpack in "${this.context}" (a ${n}-byte value at offset ${this.pos} runs past the end, file has ${this.size} bytes)`);
    }
    this.pos += n;
  }
}

/** A parsed value; array payloads become `FlaxLeaf` records instead of bytes. */
type Value = null | boolean | number | string | { bin: { offset: number; length: number } } | Value[] | Map<string, Value> | FlaxLeaf | { scalar: true };

function readValue(c: FileCursor, path: string, file: string): Value {
  c.context = path;
  const tag = c.u8();
  if (tag <= 0x7f) return tag;
  if (tag >= 0xe0) return tag - 0x100;
  if ((tag & 0xf0) === 0x80) return readMap(c, tag & 0x0f, path, file);
  if ((tag & 0xf0) === 0x90) return readArray(c, tag & 0x0f, path, file);
  if ((tag & 0xe0) === 0xa0) return c.bytes(tag & 0x1f).toString('utf8');
  switch (tag) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: case 0xc5: case 0xc6: {
      const length = c.uint(tag === 0xc4 ? 1 : tag === 0xc5 ? 2 : 4);
      const offset = c.pos;
      c.skip(length);
      return { bin: { offset, length } };
    }
    case 0xca: return c.bytes(4).readFloatBE(0);
    case 0xcb: return c.bytes(8).readDoubleBE(0);
    case 0xcc: return c.uint(1);
    case 0xcd: return c.uint(2);
    case 0xce: return c.uint(4);
    case 0xcf: return c.uint(8);
    case 0xd0: return c.int(1);
    case 0xd1: return c.int(2);
    case 0xd2: return c.int(4);
    case 0xd3: return c.int(8);
    case 0xd9: return c.bytes(c.uint(1)).toString('utf8');
    case 0xda: return c.bytes(c.uint(2)).toString('utf8');
    case 0xdb: return c.bytes(c.uint(4)).toString('utf8');
    case 0xdc: return readArray(c, c.uint(2), path, file);
    case 0xdd: return readArray(c, c.uint(4), path, file);
    case 0xde: return readMap(c, c.uint(2), path, file);
    case 0xdf: return readMap(c, c.uint(4), path, file);
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
      return readExt(c, 2 ** (tag - 0xd4), path, file);
    case 0xc7: return readExt(c, c.uint(1), path, file);
    case 0xc8: return readExt(c, c.uint(2), path, file);
    case 0xc9: return readExt(c, c.uint(4), path, file);
    default:
      throw new CheckpointError(`${file}: invalid msgpack byte 0x${tag.toString(16)} at offset ${c.pos - 1} (in "${path}")`);
  }
}

function readArray(c: FileCursor, n: number, path: string, file: string): Value[] {
  const out: Value[] = [];
  for (let i = 0; i < n; i++) out.push(readValue(c, path, file));
  return out;
}

function readMap(c: FileCursor, n: number, path: string, file: string): Map<string, Value> {
  const out = new Map<string, Value>();
  for (let i = 0; i < n; i++) {
    const key = readValue(c, path, file);
    if (typeof key !== 'string' && typeof key !== 'number') {
      throw new CheckpointError(`${file}: map key at offset ${c.pos} in "${path}" is not a string`);
    }
    const name = String(key);
    out.set(name, readValue(c, path ? `${path}/${name}` : name, file));
  }
  return out;
}

function readExt(c: FileCursor, length: number, path: string, file: string): Value {
  const type = c.int(1);
  const end = c.pos + length;
  if (type !== EXT_NDARRAY && type !== EXT_NPSCALAR) {
    c.skip(length);
    return null;
  }
  const payload = readValue(c, path, file);
  if (c.pos !== end) throw new CheckpointError(`${file}: array "${path}" has a malformed ext payload`);
  if (type === EXT_NPSCALAR) return { scalar: true };
  return payloadToLeaf(payload, path, file);
}

function payloadToLeaf(payload: Value, path: string, file: string): FlaxLeaf {
  if (!Array.isArray(payload) || payload.length !== 3) {
    throw new CheckpointError(`${file}: array "${path}" payload is not [shape, dtype, bytes]`);
  }
  const [shape, dtype, data] = payload;
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number')) {
    throw new CheckpointError(`${file}: array "${path}" has an invalid shape`);
  }
  if (dtype !== 'float32' && dtype !== 'float16' && dtype !== 'bfloat16') {
    throw new CheckpointError(`${file}: array "${path}" has unsupported dtype ${JSON.stringify(dtype)}`);
  }
  if (data === null || typeof data !== 'object' || !('bin' in data)) {
    throw new CheckpointError(`${file}: array "${path}" has no byte payload`);
  }
  const dims = shape;
  const expected = dims.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
  if (data.bin.length !== expected) {
    throw new CheckpointError(`${file}: array "${path}" holds ${data.bin.length} bytes, shape [${dims.join(', ')}] ${dtype} needs ${expected}`);
  }
  return { path, shape: dims, dtype, segments: [data.bin] };
}

function isLeaf(value: Value): value is FlaxLeaf {
  return value !== null && typeof value === 'object' && 'segments' in value;
}

function chunkedToLeaf(map: Map<string, Value>, path: string, file: string): FlaxLeaf {
  const shapeMap = map.get('shape');
  const chunks = map.get('chunks');
  if (!(shapeMap instanceof Map) || !(chunks instanceof Map)) {
    throw new CheckpointError(`${file}: chunked array "${path}" lacks shape or chunks`);
  }
  const shape = [...shapeMap.keys()].sort((a, b) => Number(a) - Number(b)).map((k) => Number(shapeMap.get(k)));
  const parts = [...chunks.keys()].sort((a, b) => Number(a) - Number(b)).map((k) => chunks.get(k)!);
  if (!parts.every(isLeaf) || parts.length === 0) throw new CheckpointError(`${file}: chunked array "${path}" has invalid chunks`);
  const dtype = parts[0]!.dtype;
  if (!parts.every((p) => p.dtype === dtype)) throw new CheckpointError(`${file}: chunked array "${path}" mixes dtypes`);
  const segments = parts.flatMap((p) => p.segments);
  const bytes = segments.reduce((a, s) => a + s.length, 0);
  const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
  if (bytes !== expected) throw new CheckpointError(`${file}: chunked array "${path}" holds ${bytes} bytes, needs ${expected}`);
  return { path, shape, dtype, segments };
}

function collectLeaves(value: Value, path: string, file: string, out: Map<string, FlaxLeaf>): void {
  if (isLeaf(value)) {
    out.set(path, { ...value, path });
  } else if (value instanceof Map) {
    if (value.get(CHUNKED) === true) {
      out.set(path, chunkedToLeaf(value, path, file));
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
  ) {}

  static open(file: string): FlaxCheckpoint {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (error) {
      throw new CheckpointError(`${file}: cannot open (${(error as Error).message})`);
    }
    try {
      const size = fstatSync(fd).size;
      const cursor = new FileCursor(fd, size, file);
      const root = readValue(cursor, '', file);
      if (!(root instanceof Map)) throw new CheckpointError(`${file}: top level is not a msgpack map`);
      if (cursor.pos !== size) throw new CheckpointError(`${file}: ${size - cursor.pos} unexpected bytes after the msgpack map`);
      const leaves = new Map<string, FlaxLeaf>();
      collectLeaves(root, '', file, leaves);
      return new FlaxCheckpoint(file, fd, leaves);
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
      readSync(this.fd, bytes, filled, n, segment.offset + want);
      filled += n;
      want = 0;
    }
    return decode(bytes, leaf.dtype);
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

/** A tree to serialize: nested records whose leaves produce their float32 data on demand. */
export interface LeafSpec {
  readonly shape: readonly number[];
  readonly fill: () => Float32Array;
}
export type TreeSpec = { readonly [key: string]: TreeSpec | LeafSpec };

function isLeafSpec(node: TreeSpec | LeafSpec): node is LeafSpec {
  return 'fill' in node && typeof node.fill === 'function';
}

/** Streams a tree to `file` in flax's msgpack layout (float32 leaves, keys in insertion order). */
export function writeFlaxMsgpack(fd: number, tree: TreeSpec): void {
  const write = (buf: Uint8Array): void => {
    let done = 0;
    while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
  };
  const header = (small: number, base8: number, n: number): Buffer => {
    if (n < 16) return Buffer.from([small | n]);
    const b = Buffer.alloc(5);
    b[0] = base8;
    b.writeUInt32BE(n, 1);
    return b;
  };
  const str = (s: string): Buffer => {
    const bytes = Buffer.from(s, 'utf8');
    const head = bytes.length < 32 ? Buffer.from([0xa0 | bytes.length]) : Buffer.from([0xd9, bytes.length]);
    return Buffer.concat([head, bytes]);
  };
  const uint = (n: number): Buffer => {
    if (n < 128) return Buffer.from([n]);
    const b = Buffer.alloc(5);
    b[0] = 0xce;
    b.writeUInt32BE(n, 1);
    return b;
  };
  const visit = (node: TreeSpec | LeafSpec): void => {
    if (!isLeafSpec(node)) {
      const keys = Object.keys(node);
      write(header(0x80, 0xdf, keys.length));
      for (const key of keys) {
        write(str(key));
        visit(node[key]!);
      }
      return;
    }
    const data = node.fill();
    const expected = node.shape.reduce((a, b) => a * b, 1);
    if (data.length !== expected) throw new Error(`leaf of shape [${node.shape.join(', ')}] filled with ${data.length} values`);
    const shape = Buffer.concat([header(0x90, 0xdd, node.shape.length), ...node.shape.map(uint)]);
    const dtype = str('float32');
    const binHead = Buffer.alloc(5);
    binHead[0] = 0xc6;
    binHead.writeUInt32BE(data.byteLength, 1);
    const payloadLength = 1 + shape.length + dtype.length + binHead.length + data.byteLength;
    const extHead = Buffer.alloc(6);
    extHead[0] = 0xc9;
    extHead.writeUInt32BE(payloadLength, 1);
    extHead[5] = EXT_NDARRAY;
    write(Buffer.concat([extHead, Buffer.from([0x93]), shape, dtype, binHead]));
    write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  };
  visit(tree);
}
