/**
 * The stand-in's linear layers on our own WebAssembly int8 kernel (src/kernels/int8-gemm.ts): the q8 weights the
 * exporter would write, 12-bit activations, the LM head in int8 too (at 12 bits its activations need no float).
 */
import type { DalleBartConfig } from '../src/model/config.ts';
import { Int8Gemm } from '../src/kernels/int8-gemm.ts';
import type { Int8Linear } from '../src/kernels/int8-gemm.ts';
import { quantizeInt8PerColumn } from '../tools/exporter/graphs/quantize.ts';
import { spawnNodeGemmHelper } from '../tools/node/gemm-helper.ts';
import { decoderLinearStandIn, standInKernel } from './linear-stand-in.ts';
import type { StandInOps } from './linear-stand-in.ts';

/** Rows of activations flowing through the chain. */
interface Rows {
  readonly data: Float32Array;
  readonly rows: number;
}

export interface OwnLinearStack {
  run(x: Float32Array, rows: number): Float32Array;
  release(): Promise<void>;
}

/** `threads` > 1 splits every call by columns across Node helper threads (tools/node/gemm-helper.ts). */
export async function ownLinearStack(config: DalleBartConfig, threads = 1): Promise<OwnLinearStack> {
  const gemm = await Int8Gemm.create({ threads, spawnHelper: spawnNodeGemmHelper });
  const layers = new Map<string, Int8Linear>();
  const ops: StandInOps<Rows> = {
    linear(x, name, inDim, outDim) {
      let layer = layers.get(name);
      if (!layer) {
        const { q, scales } = quantizeInt8PerColumn(standInKernel(name, inDim, outDim), inDim, outDim);
        layer = gemm.addLinear(q, scales, inDim, outDim);
        layers.set(name, layer);
      }
      return { data: gemm.multiply(layer, x.data, x.rows), rows: x.rows };
    },
    sumScaled(xs, scale) {
      const out = new Float32Array(xs[0]!.data.length);
      for (const x of xs) for (let i = 0; i < out.length; i++) out[i] = out[i]! + x.data[i]! * scale;
      return { data: out, rows: xs[0]!.rows };
    },
    mul(a, b) {
      return { data: a.data.map((v, i) => v * b.data[i]!), rows: a.rows };
    },
  };
  // The first pass packs every layer's weights; timed runs only multiply.
  decoderLinearStandIn(config, ops, { data: new Float32Array(config.dModel), rows: 1 });
  return {
    run: (x, rows) => decoderLinearStandIn(config, ops, { data: x, rows }).data,
    release: () => gemm.release(),
  };
}
