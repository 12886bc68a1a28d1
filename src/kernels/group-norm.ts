/**
 * GroupNorm (then swish, where asked) of one map on our kernels (group-norm-kernels.ts): two passes of per-channel
 * sums, the second centred on the first's group means (float32 sums of squares about zero would lose a map whose mean
 * is large against its spread), the groups' statistics combined here, and one pass writing (x − mean) · scale + bias.
 */
import { GROUP_NORM_EPS, GROUP_NORM_GROUPS } from '../model/config.ts';
import { channelSumsFunction, normalizeFunction } from './group-norm-kernels.ts';

import type { KernelModule } from './kernel-module.ts';

/** Floats of scratch a norm of `channels` needs (sums, row sums, shift; mean, scale and bias). */
export const groupNormScratchFloats = (channels: number): number => 8 * channels;

export class OwnGroupNorm {
  private readonly sums: string;
  private readonly normalize: string;

  /**
   * Adds its kernels to `module` (built before `run`). `scratchAt`: a byte offset in `memory` with
   * groupNormScratchFloats(channels) floats, aligned to 64 bytes; `scale` and `bias` the norm's own per-channel
   * weights.
   */
  constructor(
    private readonly module: KernelModule,
    private readonly memory: WebAssembly.Memory,
    private readonly scratchAt: number,
    private readonly scale: Float32Array,
    private readonly bias: Float32Array,
    private readonly size: number,
    private readonly channels: number,
    swish: boolean,
  ) {
    if (channels % GROUP_NORM_GROUPS !== 0) throw new Error(`${channels} channels do not split into groups`);
    this.sums = module.add(`groupNormSums_${size}_${channels}`, () => channelSumsFunction(size, channels));
    this.normalize = module.add(`groupNormApply_${size}_${channels}_${swish ? 'swish' : 'plain'}`, () =>
      normalizeFunction(size, channels, swish),
    );
  }

  /** y = GroupNorm(x) (· sigmoid of itself with swish); maps of size² pixels, rows xRow / yRow bytes apart. */
  run(x: number, xRow: number, y: number, yRow: number): void {
    const { channels: C, size } = this;
    const scratch = new Float32Array(this.memory.buffer, this.scratchAt, groupNormScratchFloats(C));
    const sums = scratch.subarray(0, 2 * C);
    const shift = scratch.subarray(4 * C, 5 * C);
    const coefficients = scratch.subarray(5 * C, 8 * C);
    const at = (floats: number) => this.scratchAt + 4 * floats;
    const [sumsAt, rowSumsAt, shiftAt, coefficientsAt] = [at(0), at(2 * C), at(4 * C), at(5 * C)];
    const per = C / GROUP_NORM_GROUPS;
    const count = size * size * per;
    // On this thread alone (one share of all 4C bytes of channels): a pass reading the map at memory speed, which two
    // threads sharing the channels ran 2.7× slower on the mini VQGAN (≈ 100 ms against 36 ms a decode).
    const sumChannels = () => this.module.run(this.sums, 1, 4 * C, [x, xRow, shiftAt, sumsAt, rowSumsAt]);
    shift.fill(0);
    sumChannels();
    const means = new Float64Array(GROUP_NORM_GROUPS);
    for (let c = 0; c < C; c++) means[Math.floor(c / per)]! += sums[c]! / count;
    for (let c = 0; c < C; c++) shift[c] = means[Math.floor(c / per)]!;
    sumChannels();
    for (let g = 0; g < GROUP_NORM_GROUPS; g++) {
      let [centred, squares] = [0, 0];
      for (let c = g * per; c < (g + 1) * per; c++) [centred, squares] = [centred + sums[c]!, squares + sums[C + c]!];
      const mean = shift[g * per]! + centred / count;
      const variance = Math.max(0, squares / count - (centred / count) ** 2);
      const inverse = 1 / Math.sqrt(variance + GROUP_NORM_EPS);
      for (let c = g * per; c < (g + 1) * per; c++) {
        coefficients[c] = mean;
        coefficients[C + c] = this.scale[c]! * inverse;
        coefficients[2 * C + c] = this.bias[c]!;
      }
    }
    this.module.run(this.normalize, size, 1, [x, xRow, y, yRow, coefficientsAt]);
  }
}
