/** Read access to checkpoint tensors, as float32, with shapes checked against the official layout. */
import { CheckpointError, FlaxCheckpoint } from './flax-msgpack.ts';
import type { Layout } from './layout.ts';

export interface ParamSource {
  shape(path: string): readonly number[];
  /** The whole tensor. */
  read(path: string): Float32Array;
  /** Slice `index` of the leading (scanned layer) axis. */
  readLayer(path: string, index: number): Float32Array;
}

export class CheckpointParams implements ParamSource {
  constructor(private readonly checkpoint: FlaxCheckpoint) {}

  shape(path: string): readonly number[] {
    return this.checkpoint.leaf(path).shape;
  }
  read(path: string): Float32Array {
    const shape = this.shape(path);
    return this.checkpoint.readRange(
      path,
      0,
      shape.reduce((a, b) => a * b, 1),
    );
  }
  readLayer(path: string, index: number): Float32Array {
    const [layers, ...rest] = this.shape(path);
    if (layers === undefined || index >= layers)
      throw new CheckpointError(`${this.checkpoint.file}: tensor "${path}" has no layer ${index}`);
    const size = rest.reduce((a, b) => a * b, 1);
    return this.checkpoint.readRange(path, index * size, size);
  }
}

/** Throws a message naming the file and tensor for the first missing or mis-shaped tensor. */
export function checkLayout(checkpoint: FlaxCheckpoint, layout: Layout, what: string): void {
  for (const [path, { shape }] of layout) {
    const leaf = checkpoint.leaves.get(path);
    if (!leaf) throw new CheckpointError(`${checkpoint.file}: ${what} tensor "${path}" is missing`);
    if (leaf.shape.length !== shape.length || leaf.shape.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(
        `${checkpoint.file}: ${what} tensor "${path}" has shape [${leaf.shape.join(', ')}], config.json implies [${shape.join(', ')}]`,
      );
    }
  }
}
