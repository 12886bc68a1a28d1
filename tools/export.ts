/**
 * npm run export -- --dalle <dir> --vqgan <dir> --out <dir> [--dtype fp32|fp16|q8|q4]
 * npm run export -- --random tiny|mini|mega --seed <n> --out <dir> [--dtype …]
 * npm run export -- --from-hub dalle-mini/dalle-mini --out <dir> [--dtype …] [--revision main]
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, runCli, seedArg, UsageError } from './cli-args.ts';
import { exportModel } from './exporter/export-model.ts';
import { EXPORT_DTYPES, isExportDtype } from './exporter/graphs/precision.ts';
import { DEFAULT_HUB_ENDPOINT, formatProgressLine } from './exporter/hub-download.ts';
import type { HubProgress } from './exporter/hub-download.ts';
import { downloadCheckpoints } from './exporter/from-hub.ts';
import { PRESETS } from './exporter/presets.ts';
import type { PresetName } from './exporter/presets.ts';
import { writeRandomCheckpoint } from './exporter/random-checkpoint.ts';
import { printQuantizationReport } from './exporter/quantization-report.ts';

const FLAGS = ['dalle', 'vqgan', 'out', 'dtype', 'random', 'seed', 'from-hub', 'revision', 'vqgan-repo', 'vqgan-revision', 'hub-endpoint', 'cache-dir', 'report'];

function isPreset(value: string): value is PresetName {
  return (PRESETS as readonly string[]).includes(value);
}

/** One updating progress line on stderr, at most twice a second. */
function progressPrinter(): (p: HubProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 500 && p.loaded !== p.total) return;
    last = now;
    process.stderr.write(`\r${formatProgressLine(p)}\u001b[K`);
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), FLAGS);
  const out = args.values.get('out');
  if (!out) throw new UsageError('--out <dir> is required');
  const dtype = args.values.get('dtype') ?? 'fp32';
  if (!isExportDtype(dtype)) throw new UsageError(`--dtype must be one of ${EXPORT_DTYPES.join(', ')}, got "${dtype}"`);
  const cacheDir = resolve(args.values.get('cache-dir') ?? '.cache');

  let dalleDir = args.values.get('dalle');
  let vqganDir = args.values.get('vqgan');
  let modelId: string | undefined;
  const random = args.values.get('random');
  const hubRepo = args.values.get('from-hub');
  if ([random, hubRepo, dalleDir].filter(Boolean).length !== 1) {
    throw new UsageError('give exactly one source: --dalle <dir> --vqgan <dir>, --random tiny|mini|mega, or --from-hub <repo>');
  }
  if (random !== undefined) {
    if (!isPreset(random)) throw new UsageError(`--random must be one of ${PRESETS.join(', ')}, got "${random}"`);
    const seed = seedArg(args);
    modelId = `random-${random}-seed${seed}`;
    const dir = join(cacheDir, 'checkpoints', modelId);
    if (!existsSync(join(dir, 'vqgan', 'flax_model.msgpack'))) {
      console.error(`writing random ${random} checkpoint (seed ${seed}) to ${dir}`);
      ({ dalle: dalleDir, vqgan: vqganDir } = writeRandomCheckpoint(random, seed, dir));
    } else {
      ({ dalle: dalleDir, vqgan: vqganDir } = { dalle: join(dir, 'dalle'), vqgan: join(dir, 'vqgan') });
    }
  } else if (hubRepo !== undefined) {
    modelId = hubRepo.split('/').pop();
    const vqganRepo = args.values.get('vqgan-repo');
    const vqganRevision = args.values.get('vqgan-revision');
    const revision = args.values.get('revision');
    ({ dalle: dalleDir, vqgan: vqganDir } = await downloadCheckpoints({
      repo: hubRepo,
      endpoint: args.values.get('hub-endpoint') ?? process.env.HF_ENDPOINT ?? DEFAULT_HUB_ENDPOINT,
      cacheDir: join(cacheDir, 'hub'),
      onProgress: progressPrinter(),
      ...(revision ? { revision } : {}),
      ...(vqganRepo ? { vqganRepo } : {}),
      ...(vqganRevision ? { vqganRevision } : {}),
    }));
    process.stderr.write('\n');
  }
  if (!dalleDir || !vqganDir) throw new UsageError('--dalle and --vqgan are both required');

  const manifest = exportModel({
    dalleDir,
    vqganDir,
    outDir: resolve(out),
    dtype,
    ...(modelId ? { modelId } : {}),
    log: (line) => console.error(line),
  });
  const total = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
  console.log(`exported ${manifest.modelId} (${dtype}) to ${out}: ${manifest.files.length} files, ${(total / 1e6).toFixed(1)} MB`);
  if (dtype !== 'fp32' && args.values.get('report') !== 'off') {
    await printQuantizationReport({ dalleDir, vqganDir, quantizedDir: resolve(out), cacheDir });
  }
}

runCli(main);
