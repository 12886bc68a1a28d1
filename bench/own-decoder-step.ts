/**
 * npm run bench:own-step -- --model <q8 dir> [--images 1,9] [--position 128] [--rounds 2] [--runs 7] [--threads 1]
 * One decoder step at a position, side by side in one process, rounds interleaved: ONNX Runtime's WASM backend on the
 * graph the page runs (a q8 folder's wasmHostCacheFile), onnxruntime-node on its hostCacheFile, and our own kernels
 * (src/kernels/decoder-step.ts behind the session the engine drives) on the same weights, with the growing cache's slot
 * count at that position (docs/performance.md#our-own-int8-kernel). Ours is fed the cache as the others are (a fixed
 * position cannot be run again on the cache it keeps in a drawing), so it times the same step minus appending a slot;
 * `own-guided` is ours as a drawing asks for it, the rows super-conditioned before the LM head (n rows there, not 2n).
 */
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { cpus, loadavg } from 'node:os';
import type { DecoderStepInputs, KeyValue } from '../src/kernels/decoder-step.ts';
import { cacheNames, crossAttentionNames, DECODER_OUTPUTS, newSlotNames } from '../src/model/graph-io.ts';
import { cacheSlotsAt } from '../src/pipeline/decoder-run.ts';
import { CONDITION_SCALE_INPUT, createOwnDecoderSession, decoderFeeds } from '../src/pipeline/own-decoder-session.ts';
import { createSession } from '../src/pipeline/runtime.ts';
import type { OrtApi, Session } from '../src/pipeline/runtime.ts';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { intArg, parseArgs, runCli, UsageError } from '../tools/cli-args.ts';
import { fillNormal } from '../tools/exporter/prng.ts';
import { spawnNodeGemmHelper } from '../tools/node/gemm-helper.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { median } from './bench-report.ts';

type Runner = 'web-wasm' | 'node' | 'own-wasm' | 'own-guided';
const PAUSE_MS = 500;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ['model', 'images', 'position', 'rounds', 'runs', 'threads']);
  const dir = args.values.get('model');
  if (!dir) throw new UsageError('--model <dir> is required (a q8 export)');
  const images = (args.values.get('images') ?? '1,9').split(',').map(Number);
  const position = intArg(args, 'position', 128, 0);
  const rounds = intArg(args, 'rounds', 2, 1);
  const runs = intArg(args, 'runs', 7, 1);
  const threads = intArg(args, 'threads', 1, 1);
  const source = openModelFolder(dir);
  const c = source.manifest.dalleBart;
  if (position >= c.imageLength) throw new UsageError(`--position must be below ${c.imageLength}`);
  const entry = source.manifest.graphs.decoder;

  ortWeb.env.wasm.numThreads = threads;
  const web = await createSession(
    ortWeb,
    source,
    'decoder',
    sessionOptionsFor('wasm', source.manifest, { ownKernels: false })('decoder'),
    true,
  );
  const node = await createSession(
    ortNode,
    source,
    'decoder',
    { intraOpNumThreads: threads, interOpNumThreads: 1 },
    true,
  );
  const own = await createOwnDecoderSession(ortWeb, source, entry, { threads, spawnHelper: spawnNodeGemmHelper });

  const H = c.decoderHeads;
  const hd = c.dModel / H;
  const T = c.maxTextLength;
  const P = cacheSlotsAt(position, c.imageLength);
  const table = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const n of images) {
      const B = 2 * n;
      const random = (length: number, seed: number) => fillNormal(new Float32Array(length), seed, 0, 1);
      const inputs: DecoderStepInputs = {
        ids: Array.from({ length: B }, (_, i) => (i * 37) % c.imageVocabSize),
        position,
        attentionMask: new Array<number>(2 * T).fill(1),
        cross: crossAttentionNames(c).map((_, l): KeyValue => ({
          key: random(2 * H * hd * T, l),
          value: random(2 * H * T * hd, 50 + l),
        })),
        past: cacheNames(c, 'past').map((_, l): KeyValue => ({
          key: random(B * H * hd * P, 100 + l),
          value: random(B * H * P * hd, 150 + l),
        })),
        pastSlots: P,
      };
      const fetches = [DECODER_OUTPUTS.logits, ...newSlotNames(c).flatMap(({ key, value }) => [key, value])];
      // Every runtime through the session interface, our kernels' adapter included (what the engine calls).
      const time = async (session: Session, ort: OrtApi, guided = false): Promise<number> => {
        const feeds = decoderFeeds(ort, c, inputs);
        // As a drawing runs it: the rows mixed before the LM head, whose product then takes n rows.
        if (guided) feeds[CONDITION_SCALE_INPUT] = new ort.Tensor('float32', [10], []);
        // The last runtime's thread pool spins a while after its runs: a pause, so none shares the cores with this one.
        await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
        const times: number[] = [];
        for (let r = 0; r < runs + 2; r++) {
          const start = performance.now();
          const out = await session.run(feeds, fetches);
          if (r >= 2) times.push(performance.now() - start);
          for (const t of Object.values(out)) t.dispose();
        }
        return median(times);
      };
      const record = (runner: Runner, ms: number) => {
        const key = `${runner}|${n}`;
        table.set(key, [...(table.get(key) ?? []), ms]);
      };
      record('web-wasm', await time(web, ortWeb));
      record('node', await time(node, ortNode));
      // Ours fed 2n rows and ours guided, in turn first (they differ by a few ms; the first after a pause runs colder).
      for (const guided of round % 2 === 0 ? [false, true] : [true, false])
        record(guided ? 'own-guided' : 'own-wasm', await time(own, ortWeb, guided));
    }
    process.stderr.write(`round ${round + 1}/${rounds} done, load ${loadavg()[0]!.toFixed(2)}\n`);
  }
  console.log(
    `decoder step at position ${position} (${P} cache slots), ${threads} thread(s), ${cpus()[0]?.model ?? 'unknown CPU'}, ` +
      `median of ${rounds} round(s) × ${runs} runs`,
  );
  console.log(
    'own-guided: our kernels with the rows super-conditioned before the LM head, as a drawing asks (fed the cache, ' +
      'and returning the new slots, where a drawing keeps its own)',
  );
  console.log(
    '| images | web-wasm ms | node ms | own-wasm ms | own-guided ms | own / web-wasm | own / node | guided / node |',
  );
  console.log(
    '| ------ | ----------- | ------- | ----------- | ------------- | -------------- | ---------- | ------------- |',
  );
  for (const n of images) {
    const [w, nat, o, g] = (['web-wasm', 'node', 'own-wasm', 'own-guided'] as const).map((r) =>
      median(table.get(`${r}|${n}`)!),
    );
    const cells = [w, nat, o, g].map((ms, i) => ms!.toFixed(1).padStart([11, 7, 11, 13][i]!));
    const ratios = [o! / w!, o! / nat!, g! / nat!].map((r, i) => `${r.toFixed(2).padStart([13, 9, 12][i]!)}×`);
    console.log(`| ${String(n).padEnd(6)} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
  }
  await Promise.all([web.release(), node.release(), own.release()]);
  process.exit(0);
}

runCli(main);
