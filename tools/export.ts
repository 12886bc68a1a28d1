/**
 * npm run export -- --dalle <dir> --vqgan <dir> --out <dir> [--dtype fp32|fp16|q8|q4] [--force]
 *   [--no-int8-activations]   (q8: no WASM decoder multiplying in int8, docs/model-format.md#int8-activations)
 * npm run export -- --random tiny|mini|mega --seed <n> --out <dir> [--dtype …]
 * npm run export -- --from-hub dalle-mini/dalle-mini --out <dir> [--dtype …] [--revision main]
 * npm run export -- --random clip-tiny --seed <n> --out <dir> [--dtype fp32|q8]     (a CLIP ranking model)
 * npm run export -- --clip <hub CLIP folder> --out <dir> [--dtype fp32|fp16|q8] [--model-id <id>] [--logit-scale
 * 4.6052]   (a folder of ONNX graphs, or Flax weights whose graphs are built: fp32 or q8)
 * DALL·E exports: [--model-id <id>] [--shard-mb 64] [--catalog public/models/catalog.json [--catalog-url <folder URL>]]
 *   [--report on|off]   (quantized exports: the error report against fp32, on by default)
 *
 * --out is checked before anything is downloaded or written (exporter/export-target.ts), and
 * a cleanup guard removes this run's staging folders if it is interrupted.
 */
import { basename, dirname, join, resolve } from 'node:path';
import { CLIP_DTYPES } from '../src/model/clip-manifest.ts';
import type { ClipDtype, ClipManifest } from '../src/model/clip-manifest.ts';
import { exportRandomClip, packageClip } from './exporter/clip/export-clip.ts';
import { intArg, numberArg, parseArgs, runCli, seedArg, UsageError } from './cli-args.ts';
import { updateCatalog } from './exporter/catalog-entry.ts';
import type { ParsedArgs } from './cli-args.ts';
import { exportModel } from './exporter/export-model.ts';
import { checkExportTarget, exportLocation } from './exporter/export-target.ts';
import { EXPORT_DTYPES, isExportDtype } from './exporter/graphs/precision.ts';
import { DEFAULT_HUB_ENDPOINT } from './exporter/hub-download.ts';
import { downloadCheckpoints, hubCheckpointDirs } from './exporter/from-hub.ts';
import { PRESETS } from './exporter/presets.ts';
import type { PresetName } from './exporter/presets.ts';
import { ensureRandomCheckpoint } from './exporter/random-checkpoint.ts';
import { printQuantizationReport } from './exporter/quantization-report.ts';
import { startCleanupGuard } from './node/cleanup-guard.ts';
import { hubProgressPrinter } from './hub-progress.ts';
import { ensureOutputDir } from './node/output-dir.ts';

/** Flags only DALL·E exports use: a CLIP export refuses them rather than ignore them. */
const DALLE_FLAGS = [
  'dalle',
  'vqgan',
  'from-hub',
  'revision',
  'vqgan-repo',
  'vqgan-revision',
  'hub-endpoint',
  'cache-dir',
  'report',
  // A CLIP folder's graphs are single files, and `--catalog` writes DALL·E models' entries (rankers are by hand).
  'shard-mb',
  'catalog',
  'catalog-url',
];
const DALLE_SWITCHES = ['int8-activations', 'no-int8-activations'];
const FLAGS = ['out', 'dtype', 'random', 'seed', ...DALLE_FLAGS, 'clip', 'model-id', 'logit-scale'];
const SWITCHES = ['force', ...DALLE_SWITCHES];

/**
 * Flags only one source reads, with that source's flag: given with another source they would be ignored silently
 * (a --revision with --random, a --seed with --dalle), so they are refused.
 */
const SOURCE_OF_FLAG: Readonly<Record<string, string>> = {
  seed: 'random',
  revision: 'from-hub',
  'vqgan-repo': 'from-hub',
  'vqgan-revision': 'from-hub',
  'hub-endpoint': 'from-hub',
  vqgan: 'dalle',
  'logit-scale': 'clip',
  'catalog-url': 'catalog',
};

function checkFlagsApply(args: ParsedArgs): void {
  for (const [flag, source] of Object.entries(SOURCE_OF_FLAG))
    if (args.values.has(flag) && !args.values.has(source))
      throw new UsageError(`--${flag} applies only with --${source}`);
  const report = args.values.get('report');
  if (report !== undefined && report !== 'on' && report !== 'off')
    throw new UsageError(`--report must be on or off, got "${report}"`);
}

function isPreset(value: string): value is PresetName {
  return (PRESETS as readonly string[]).includes(value);
}

/**
 * Test hook: DALLE_EXPORT_TEST_PAUSE=<start of a progress line> blocks the run there, synchronously
 * like the export's own work, so tests can signal an export caught mid-write.
 */
function log(line: string): void {
  console.error(line);
  const pauseAt = process.env.DALLE_EXPORT_TEST_PAUSE;
  if (pauseAt && line.startsWith(pauseAt)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
}

/** The checkpoint folders to export, and how to fetch or write them if they are not there yet. */
interface Source {
  readonly dalle: string;
  readonly vqgan: string;
  readonly modelId?: string;
  readonly usesCache: boolean;
  prepare(): Promise<void>;
}

function sourceFrom(args: ParsedArgs, cacheDir: string): Source {
  const random = args.values.get('random');
  const hubRepo = args.values.get('from-hub');
  const dalle = args.values.get('dalle');
  const vqgan = args.values.get('vqgan');
  if ([random, hubRepo, dalle].filter(Boolean).length !== 1) {
    throw new UsageError(
      'give exactly one source: --dalle <dir> --vqgan <dir>, --random tiny|mini|mega, or --from-hub <repo>',
    );
  }
  if (random !== undefined) {
    if (!isPreset(random))
      throw new UsageError(`--random must be one of ${PRESETS.join(', ')}, clip-tiny, got "${random}"`);
    const seed = seedArg(args);
    const modelId = `random-${random}-seed${seed}`;
    const dir = join(cacheDir, 'checkpoints', modelId);
    const prepare = (): Promise<void> => {
      ensureRandomCheckpoint(random, seed, dir, log);
      return Promise.resolve();
    };
    return { dalle: join(dir, 'dalle'), vqgan: join(dir, 'vqgan'), modelId, usesCache: true, prepare };
  }
  if (hubRepo !== undefined) {
    const revision = args.values.get('revision');
    const vqganRepo = args.values.get('vqgan-repo');
    const vqganRevision = args.values.get('vqgan-revision');
    const options = {
      repo: hubRepo,
      cacheDir: join(cacheDir, 'hub'),
      ...(revision ? { revision } : {}),
      ...(vqganRepo ? { vqganRepo } : {}),
      ...(vqganRevision ? { vqganRevision } : {}),
    };
    const endpoint = args.values.get('hub-endpoint') ?? process.env.HF_ENDPOINT ?? DEFAULT_HUB_ENDPOINT;
    const prepare = async (): Promise<void> => {
      await downloadCheckpoints({ ...options, endpoint, onProgress: hubProgressPrinter() });
      process.stderr.write('\n');
    };
    return { ...hubCheckpointDirs(options), modelId: hubRepo.split('/').pop()!, usesCache: true, prepare };
  }
  if (!dalle || !vqgan) throw new UsageError('--dalle and --vqgan are both required');
  return { dalle, vqgan, usesCache: false, prepare: () => Promise.resolve() };
}

/** CLIP ranking models: a random tiny one, or a hub folder packaged with our manifest (exporter/clip). */
function exportClip(args: ParsedArgs, out: string): void {
  for (const flag of [...DALLE_FLAGS, ...DALLE_SWITCHES])
    if (args.values.has(flag) || args.switches.has(flag))
      throw new UsageError(`--${flag} does not apply to a CLIP export (see the README's "Best of N" section)`);
  // An interrupted export leaves no staging folder beside --out, as a DALL·E export does not.
  startCleanupGuard([dirname(exportLocation(out))]);
  const dtype = args.values.get('dtype') ?? (args.values.has('clip') ? 'q8' : 'fp32');
  const force = args.switches.has('force');
  const clipDir = args.values.get('clip');
  let manifest: ClipManifest;
  if (clipDir === undefined) {
    if (dtype !== 'fp32' && dtype !== 'q8')
      throw new UsageError(`--dtype of a random CLIP must be fp32 or q8, got "${dtype}"`);
    const modelId = args.values.get('model-id');
    manifest = exportRandomClip({ seed: seedArg(args), outDir: out, dtype, force, ...(modelId ? { modelId } : {}) });
  } else {
    if (args.values.has('random')) throw new UsageError('give either --clip <dir> or --random clip-tiny, not both');
    if (!(CLIP_DTYPES as readonly string[]).includes(dtype))
      throw new UsageError(`--dtype of a CLIP must be one of ${CLIP_DTYPES.join(', ')}, got "${dtype}"`);
    // Default: the checkpoint's trained value for Flax weights, openai's (ln 100) for ONNX folders.
    const logitScale = args.values.has('logit-scale') ? numberArg(args, 'logit-scale', 0) : undefined;
    manifest = packageClip({
      clipDir,
      outDir: out,
      dtype: dtype as ClipDtype,
      modelId: args.values.get('model-id') ?? basename(resolve(clipDir)),
      ...(logitScale === undefined ? {} : { logitScale }),
      force,
    });
  }
  const total = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
  console.log(
    `exported ${manifest.modelId} (CLIP, ${manifest.dtype}) to ${out}: ${manifest.files.length} files, ${(total / 1e6).toFixed(1)} MB`,
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), FLAGS, SWITCHES);
  const out = args.values.get('out');
  if (!out) throw new UsageError('--out <dir> is required');
  checkFlagsApply(args);
  if (args.values.get('random') === 'clip-tiny' || args.values.has('clip')) return exportClip(args, out);
  const dtype = args.values.get('dtype') ?? 'fp32';
  if (!isExportDtype(dtype)) throw new UsageError(`--dtype must be one of ${EXPORT_DTYPES.join(', ')}, got "${dtype}"`);
  // q8 writes the int8-activation decoder unless told not to; --int8-activations (the default) only checks the dtype.
  for (const flag of ['int8-activations', 'no-int8-activations'])
    if (args.switches.has(flag) && dtype !== 'q8') throw new UsageError(`--${flag} needs --dtype q8`);
  if (args.switches.has('int8-activations') && args.switches.has('no-int8-activations'))
    throw new UsageError('--int8-activations and --no-int8-activations contradict each other');
  const int8Activations = dtype === 'q8' && !args.switches.has('no-int8-activations');
  const cacheDir = resolve(args.values.get('cache-dir') ?? '.cache');
  const source = sourceFrom(args, cacheDir);
  const force = args.switches.has('force');
  if (args.values.get('report') === 'on' && dtype === 'fp32')
    throw new UsageError('--report on compares a quantized export with fp32: it needs --dtype fp16, q8 or q4');
  const report = dtype !== 'fp32' && args.values.get('report') !== 'off';
  // Static hosts limit file sizes, and small pieces store, resume and hash well in the browser.
  const shardMb = intArg(args, 'shard-mb', 64, 1);
  const catalogFile = args.values.get('catalog');
  const catalogUrl = args.values.get('catalog-url');
  const modelIdArg = args.values.get('model-id');

  // Every path is checked before a byte is downloaded or written.
  const usesCache = source.usesCache || report;
  const outDir = checkExportTarget(out, [source.dalle, source.vqgan, ...(usesCache ? [cacheDir] : [])], force);
  if (usesCache) ensureOutputDir(cacheDir, '--cache-dir');
  startCleanupGuard([dirname(outDir), cacheDir, join(cacheDir, 'checkpoints')]);

  await source.prepare();
  const manifest = exportModel({
    dalleDir: source.dalle,
    vqganDir: source.vqgan,
    outDir,
    dtype,
    force,
    shardBytes: shardMb * 2 ** 20,
    int8Activations,
    // The id names the model in the page, the store and the catalog: two checkpoints both in folders named `dalle`
    // would otherwise share one (and one catalog entry).
    ...(modelIdArg ? { modelId: modelIdArg } : source.modelId ? { modelId: source.modelId } : {}),
    log,
  });
  const total = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
  console.log(
    `exported ${manifest.modelId} (${dtype}) to ${out}: ${manifest.files.length} files, ${(total / 1e6).toFixed(1)} MB`,
  );
  if (catalogFile) {
    const entry = updateCatalog({
      catalogFile: resolve(catalogFile),
      // The folder as named: a link's target may lie outside the site.
      outDir: resolve(out),
      // Known from the source, not guessed from the id (--model-id may name a random export anything).
      randomWeights: args.values.has('random'),
      manifest,
      ...(catalogUrl ? { url: catalogUrl } : {}),
    });
    console.log(`catalog ${catalogFile}: model "${entry.id}" at ${entry.url}`);
  }
  if (report)
    await printQuantizationReport({ dalleDir: source.dalle, vqganDir: source.vqgan, quantizedDir: outDir, cacheDir });
}

runCli(main);
