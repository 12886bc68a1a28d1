/** In-memory ParamSource for tests, and a seeded random initialiser driven by an official layout. */
import type { Layout } from '../../tools/exporter/layout.ts';
import type { ParamSource } from '../../tools/exporter/params.ts';

export interface MemoryTensor {
  shape: number[];
  data: Float32Array;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class MemoryParams implements ParamSource {
  constructor(readonly tensors: Map<string, MemoryTensor>) {
    for (const [path, { shape, data }] of tensors) {
      if (data.length !== size(shape))
        throw new Error(`tensor "${path}" has ${data.length} values for shape [${shape.join(', ')}]`);
    }
  }

  private tensor(path: string): MemoryTensor {
    const tensor = this.tensors.get(path);
    if (!tensor) throw new Error(`tensor "${path}" is missing`);
    return tensor;
  }
  shape(path: string): readonly number[] {
    return this.tensor(path).shape;
  }
  /** A copy, like CheckpointParams (which decodes a fresh array): callers may mutate it. */
  read(path: string): Float32Array {
    return this.tensor(path).data.slice();
  }
  readLayer(path: string, index: number): Float32Array {
    const { shape, data } = this.tensor(path);
    const [layers, ...rest] = shape;
    if (layers === undefined || !Number.isInteger(index) || index < 0 || index >= layers) {
      throw new Error(`tensor "${path}" has no layer ${index}`);
    }
    const n = size(rest);
    return data.slice(index * n, (index + 1) * n);
  }
}

/** mulberry32: small, fast, seedable 32-bit PRNG returning uniforms in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal sampler (Box–Muller on mulberry32). */
export function gaussian(seed: number): () => number {
  const uniform = mulberry32(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const value = spare;
      spare = null;
      return value;
    }
    const u = 1 - uniform(); // (0, 1], keeps log finite
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/**
 * Kernel fan-in: product of all dims but the last, where rank-3 kernels are the scanned Dense kernels
 * [L, in, out] (fan-in = in), rank-2 are plain Dense [in, out] and rank-4 are convs [kh, kw, in, out].
 */
function fanIn(shape: readonly number[]): number {
  if (shape.length === 3) return shape[1] ?? 1;
  return size(shape.slice(0, -1));
}

/**
 * Seeded random parameters for every leaf of `layout`, in layout order:
 * embeddings N(0, 0.02²), kernels N(0, 1/fan_in), scales 1 + 0.1·N(0,1), biases 0.1·N(0,1).
 */
export function randomParams(layout: Layout, seed: number): MemoryParams {
  const normal = gaussian(seed);
  const tensors = new Map<string, MemoryTensor>();
  for (const [path, { shape, role }] of layout) {
    const data = new Float32Array(size(shape));
    const std = role === 'embedding' ? 0.02 : role === 'kernel' ? 1 / Math.sqrt(fanIn(shape)) : 0.1;
    const mean = role === 'scale' ? 1 : 0;
    for (let i = 0; i < data.length; i++) data[i] = mean + std * normal();
    tensors.set(path, { shape: [...shape], data });
  }
  return new MemoryParams(tensors);
}
