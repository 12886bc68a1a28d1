/**
 * npm run bench:attention -- [--images 1,9] [--threads 1,2] [--rounds 2] [--heads 16] [--layers 12]
 * Our kernels' attention alone (src/kernels/attention.ts) at DALL·E Mini's shapes (head size 64, 256 image slots, 64
 * text slots): a drawing's self-attention over the cache the kernels keep, a slot appended per step, and the
 * cross-attention over the text, for every layer of each step. Prints a step's attention at a few positions (ms), the
 * whole drawing's (s), and the rate a late step reads the cache at (docs/performance.md#a-16-bit-cache). Random
 * tensors: the kernels' time depends on the shapes only.
 */
import { cpus, loadavg } from 'node:os';
import { Attention } from '../src/kernels/attention.ts';
import { Int8Gemm } from '../src/kernels/int8-gemm.ts';
import { intArg, parseArgs, runCli } from '../tools/cli-args.ts';
import { fillNormal } from '../tools/exporter/prng.ts';
import { spawnNodeGemmHelper } from '../tools/node/gemm-helper.ts';

const [HD, SLOTS, TEXT] = [64, 256, 64];
/** Positions whose step times are printed (each the mean of WINDOW steps from there). */
const SHOWN = [0, 128, 248];
const WINDOW = 8;

interface DrawingTimes {
  readonly selfMs: number[];
  readonly crossMs: number;
}

function drawing(attention: Attention, rows: number, heads: number, layers: number): DrawingTimes {
  const random = (n: number, seed: number) => fillNormal(new Float32Array(n), seed, 0, 1);
  const query = random(rows * heads * HD, 1);
  const out = new Float32Array(query.length);
  const extra = { keys: random(query.length, 2), values: random(query.length, 3) };
  // Two groups (the prompt and the empty one), the second's text mostly hidden, as the engine's mask has it.
  const mask = Array.from({ length: 2 * TEXT }, (_, j) => (j < TEXT || j - TEXT < 2 ? 1 : 0));
  const cross = {
    keys: random(2 * heads * HD * TEXT, 4),
    values: random(2 * heads * TEXT * HD, 5),
    slots: TEXT,
    rowsPerGroup: rows / 2,
    mask,
    fixedId: 'bench-cross',
  };
  const selfMs: number[] = [];
  let crossMs = 0;
  for (let position = 0; position < SLOTS; position++) {
    const start = performance.now();
    for (let l = 0; l < layers; l++) {
      const cache = { id: `bench-self-${l}`, capacity: SLOTS };
      attention.runOwnCache(query, cache, position, extra, heads, HD, 0.125, out);
    }
    const between = performance.now();
    for (let l = 0; l < layers; l++) attention.run(query, cross, heads, HD, 0.125, out);
    crossMs += performance.now() - between;
    selfMs.push(between - start);
  }
  return { selfMs, crossMs: crossMs / SLOTS };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ['images', 'threads', 'rounds', 'heads', 'layers']);
  const images = (args.values.get('images') ?? '1,9').split(',').map(Number);
  const threadCounts = (args.values.get('threads') ?? '1,2').split(',').map(Number);
  const rounds = intArg(args, 'rounds', 2, 1);
  const heads = intArg(args, 'heads', 16, 1);
  const layers = intArg(args, 'layers', 12, 1);
  console.log(
    `attention of ${layers} layers, ${heads} heads of ${HD}; ${cpus()[0]?.model ?? 'CPU'}, load ${loadavg()[0]}`,
  );
  console.log(
    'images threads  self ms at ' + SHOWN.map((p) => `pos ${p}`).join(' / ') + '  cross ms  drawing s  late GB/s',
  );
  for (const threads of threadCounts) {
    const gemm = await Int8Gemm.create(threads > 1 ? { threads, spawnHelper: spawnNodeGemmHelper } : {});
    try {
      const attention = new Attention(gemm);
      for (const n of images) {
        // The first round warms the code and places the caches: the last one is printed.
        let times: DrawingTimes | null = null;
        for (let round = 0; round < rounds; round++) times = drawing(attention, 2 * n, heads, layers);
        const { selfMs, crossMs } = times!;
        const at = (p: number) => selfMs.slice(p, p + WINDOW).reduce((a, b) => a + b, 0) / WINDOW;
        const total = (selfMs.reduce((a, b) => a + b, 0) + crossMs * SLOTS) / 1000;
        // A late step reads every slot's keys and values: int16, plus a float32 scale each per slot.
        const lateBytes = layers * 2 * n * heads * 252 * (2 * 2 * HD + 2 * 4);
        const cells = [
          n,
          threads,
          SHOWN.map((p) => at(p).toFixed(2)).join(' / '),
          crossMs.toFixed(2),
          total.toFixed(2),
        ];
        console.log(`${cells.join('  ')}  ${(lateBytes / at(248) / 1e6).toFixed(1)}`);
      }
    } finally {
      await gemm.release();
    }
  }
}

runCli(main);
