/**
 * Flax's array leaves: ext type 1 with payload `[shape, dtype name, raw little-endian bytes]`, or,
 * over 2^30 bytes, the `__msgpack_chunked_array__` map form (docs/model-format.md#flax-msgpack).
 * Shapes and byte counts are checked against each other here, so every later read stays inside the
 * leaf's bytes.
 */
import { CheckpointError } from './checkpoint-error.ts';
import type { Value } from './msgpack-values.ts';

export type FlaxDtype = 'float32' | 'float16' | 'bfloat16';
export const DTYPE_BYTES: Readonly<Record<FlaxDtype, number>> = { float32: 4, float16: 2, bfloat16: 2 };

export interface FlaxLeaf {
  readonly path: string;
  readonly shape: readonly number[];
  readonly dtype: FlaxDtype;
  /** Byte ranges in the file that, concatenated, hold the C-order data. */
  readonly segments: readonly { offset: number; length: number }[];
}

export const CHUNKED = '__msgpack_chunked_array__';

export function isLeaf(value: Value): value is FlaxLeaf {
  return value !== null && typeof value === 'object' && 'segments' in value;
}

function isDimension(d: Value): d is number {
  return typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function payloadToLeaf(payload: Value, path: string, file: string): FlaxLeaf {
  if (!Array.isArray(payload) || payload.length !== 3) {
    throw new CheckpointError(`${file}: array "${path}" payload is not [shape, dtype, bytes]`);
  }
  const [shape, dtype, data] = payload;
  if (!Array.isArray(shape) || !shape.every(isDimension)) {
    throw new CheckpointError(`${file}: array "${path}" has an invalid shape (dimensions must be whole numbers ≥ 0)`);
  }
  if (dtype !== 'float32' && dtype !== 'float16' && dtype !== 'bfloat16') {
    throw new CheckpointError(`${file}: array "${path}" has unsupported dtype ${JSON.stringify(dtype)}`);
  }
  if (data === null || typeof data !== 'object' || !('bin' in data)) {
    throw new CheckpointError(`${file}: array "${path}" has no byte payload`);
  }
  const dims: number[] = shape;
  const expected = elementCount(dims) * DTYPE_BYTES[dtype];
  if (data.bin.length !== expected) {
    throw new CheckpointError(
      `${file}: array "${path}" holds ${data.bin.length} bytes, shape [${dims.join(', ')}] ${dtype} needs ${expected}`,
    );
  }
  return { path, shape: dims, dtype, segments: [data.bin] };
}

/** The values of a map keyed "0", "1", … in key order, or undefined when the keys are anything else. */
function numberedValues(map: Map<string, Value>): Value[] | undefined {
  const values: Value[] = [];
  for (let i = 0; i < map.size; i++) {
    if (!map.has(String(i))) return undefined;
    values.push(map.get(String(i))!);
  }
  return values;
}

export function chunkedToLeaf(map: Map<string, Value>, path: string, file: string): FlaxLeaf {
  const shapeMap = map.get('shape');
  const chunkMap = map.get('chunks');
  if (!(shapeMap instanceof Map) || !(chunkMap instanceof Map)) {
    throw new CheckpointError(`${file}: chunked array "${path}" lacks shape or chunks`);
  }
  const shape = numberedValues(shapeMap);
  if (shape === undefined || !shape.every(isDimension))
    throw new CheckpointError(`${file}: chunked array "${path}" has an invalid shape`);
  const parts = numberedValues(chunkMap);
  if (parts === undefined || parts.length === 0 || !parts.every(isLeaf))
    throw new CheckpointError(`${file}: chunked array "${path}" has invalid chunks`);
  const dtype = parts[0]!.dtype;
  if (!parts.every((p) => p.dtype === dtype))
    throw new CheckpointError(`${file}: chunked array "${path}" mixes dtypes`);
  const segments = parts.flatMap((p) => p.segments);
  const bytes = segments.reduce((a, s) => a + s.length, 0);
  const expected = elementCount(shape) * DTYPE_BYTES[dtype];
  if (bytes !== expected)
    throw new CheckpointError(`${file}: chunked array "${path}" holds ${bytes} bytes, needs ${expected}`);
  return { path, shape, dtype, segments };
}
