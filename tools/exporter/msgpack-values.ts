/**
 * The msgpack grammar as flax writes it, parsed from a `FileCursor` without loading byte payloads:
 * a bin value becomes its position in the file. Untrusted input is refused rather than guessed
 * at: duplicate map keys (which one would win?), nesting past MAX_DEPTH (the parser recurses),
 * and element counts the rest of the file cannot hold.
 */
import { CheckpointError } from './checkpoint-error.ts';
import { payloadToLeaf } from './flax-leaf.ts';
import type { FlaxLeaf } from './flax-leaf.ts';
import type { FileCursor } from './msgpack-cursor.ts';

/** Flax trees nest about ten levels (plus three for a chunked array); far deeper is not a checkpoint. */
export const MAX_DEPTH = 64;

const EXT_NDARRAY = 1;
const EXT_NPSCALAR = 3;

export interface BinRef {
  readonly bin: { readonly offset: number; readonly length: number };
}
/** A parsed value; bin payloads and arrays' bytes stay in the file, as positions. */
export type Value =
  null | boolean | number | string | BinRef | Value[] | Map<string, Value> | FlaxLeaf | { readonly scalar: true };

export function readValue(c: FileCursor, path: string, depth = 0): Value {
  if (depth > MAX_DEPTH)
    throw new CheckpointError(
      `${c.file}: msgpack nests deeper than ${MAX_DEPTH} levels at offset ${c.pos} (in "${path}"); this is not a flax checkpoint`,
    );
  c.context = path;
  const tag = c.u8();
  if (tag <= 0x7f) return tag;
  if (tag >= 0xe0) return tag - 0x100;
  if ((tag & 0xf0) === 0x80) return readMap(c, tag & 0x0f, path, depth);
  if ((tag & 0xf0) === 0x90) return readArray(c, tag & 0x0f, path, depth);
  if ((tag & 0xe0) === 0xa0) return c.bytes(tag & 0x1f).toString('utf8');
  switch (tag) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
    case 0xc5:
    case 0xc6: {
      const length = c.uint(tag === 0xc4 ? 1 : tag === 0xc5 ? 2 : 4);
      const offset = c.pos;
      c.skip(length);
      return { bin: { offset, length } };
    }
    case 0xca:
      return c.bytes(4).readFloatBE(0);
    case 0xcb:
      return c.bytes(8).readDoubleBE(0);
    case 0xcc:
      return c.uint(1);
    case 0xcd:
      return c.uint(2);
    case 0xce:
      return c.uint(4);
    case 0xcf:
      return c.uint(8);
    case 0xd0:
      return c.int(1);
    case 0xd1:
      return c.int(2);
    case 0xd2:
      return c.int(4);
    case 0xd3:
      return c.int(8);
    case 0xd9:
      return c.bytes(c.uint(1)).toString('utf8');
    case 0xda:
      return c.bytes(c.uint(2)).toString('utf8');
    case 0xdb:
      return c.bytes(c.uint(4)).toString('utf8');
    case 0xdc:
      return readArray(c, c.uint(2), path, depth);
    case 0xdd:
      return readArray(c, c.uint(4), path, depth);
    case 0xde:
      return readMap(c, c.uint(2), path, depth);
    case 0xdf:
      return readMap(c, c.uint(4), path, depth);
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
      return readExt(c, 2 ** (tag - 0xd4), path, depth);
    case 0xc7:
      return readExt(c, c.uint(1), path, depth);
    case 0xc8:
      return readExt(c, c.uint(2), path, depth);
    case 0xc9:
      return readExt(c, c.uint(4), path, depth);
    default:
      throw new CheckpointError(
        `${c.file}: invalid msgpack byte 0x${tag.toString(16)} at offset ${c.pos - 1} (in "${path}"); the file is corrupt`,
      );
  }
}

/** Every element takes at least one byte: a count past the bytes left is a truncated file. */
function checkCount(c: FileCursor, elements: number, path: string): void {
  if (elements > c.remaining) {
    c.context = path;
    throw c.truncated(`${elements} elements announced at offset ${c.pos}, ${c.remaining} bytes left`);
  }
}

function readArray(c: FileCursor, n: number, path: string, depth: number): Value[] {
  checkCount(c, n, path);
  const out: Value[] = [];
  for (let i = 0; i < n; i++) out.push(readValue(c, path, depth + 1));
  return out;
}

function readMap(c: FileCursor, n: number, path: string, depth: number): Map<string, Value> {
  checkCount(c, 2 * n, path);
  const out = new Map<string, Value>();
  for (let i = 0; i < n; i++) {
    const keyOffset = c.pos;
    const key = readValue(c, path, depth + 1);
    if (typeof key !== 'string' && typeof key !== 'number') {
      throw new CheckpointError(
        `${c.file}: map key at offset ${keyOffset} in "${path}" is not a string; the file is corrupt`,
      );
    }
    const name = String(key);
    if (out.has(name))
      throw new CheckpointError(
        `${c.file}: key "${name}" appears twice in "${path}" (again at offset ${keyOffset}); the file is corrupt`,
      );
    out.set(name, readValue(c, path ? `${path}/${name}` : name, depth + 1));
  }
  return out;
}

function readExt(c: FileCursor, length: number, path: string, depth: number): Value {
  const type = c.int(1);
  const end = c.pos + length;
  if (type !== EXT_NDARRAY && type !== EXT_NPSCALAR) {
    c.skip(length);
    return null;
  }
  const payload = readValue(c, path, depth + 1);
  if (c.pos !== end) throw new CheckpointError(`${c.file}: array "${path}" has a malformed ext payload`);
  return type === EXT_NPSCALAR ? { scalar: true } : payloadToLeaf(payload, path, c.file);
}
