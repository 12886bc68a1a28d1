/**
 * Official checkpoint folders → a deployable model folder (manifest.json, tokenizer files, three
 * ONNX graphs with external data). Everything is written to a sibling staging folder and swapped in
 * at the end (staging.ts), so --out always holds a complete old or a complete new model.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseDalleBartConfig, parseVqganConfig } from '../../src/model/config.ts';
import type { DalleBartConfig, VqganConfig } from '../../src/model/config.ts';
import { MANIFEST_FORMAT, TEXT_SPECIAL_TOKENS } from '../../src/model/manifest.ts';
import type { GraphEntry, GraphName, ManifestFile, ModelManifest } from '../../src/model/manifest.ts';
import { forEachPiece } from '../node/read-fully.ts';
import { createStaging, replaceWithStaged, STAGING_MARK } from '../node/staging.ts';
import { checkExportTarget } from './export-target.ts';
import { CheckpointError, FlaxCheckpoint } from './flax-msgpack.ts';
import { CODE_COLORS_FILE } from './code-colors.ts';
import { buildDecoderGraph, buildEncoderGraph, hostCacheDecoderVariant } from './graphs/dallebart.ts';
import { computeType } from './graphs/precision.ts';
import type { ExportDtype } from './graphs/precision.ts';
import { buildVqganGraph } from './graphs/vqgan.ts';
import { dalleBartLayout, vqganLayout } from './layout.ts';
import { GraphBuilder } from './onnx/graph-builder.ts';
import { ExternalDataWriter, SharedWeights } from './onnx/weight-file.ts';
import type { GraphVariant } from './onnx/graph-builder.ts';
import { CheckpointParams, checkLayout } from './params.ts';
import type { ParamSource } from './params.ts';

export interface ExportOptions {
  readonly dalleDir: string;
  readonly vqganDir: string;
  readonly outDir: string;
  readonly dtype: ExportDtype;
  readonly modelId?: string;
  /** Replace a non-empty --out that is not a previous export (never a file, the inputs or the working directory). */
  readonly force?: boolean;
  /** External data is split into files of at most this size (a larger tensor gets a file of its own). */
  readonly shardBytes?: number;
  /**
   * q8 only, on by default: a second host-cache decoder for the WASM backend (`wasmHostCacheFile`) whose layers'
   * projections multiply in int8: 0.63–0.68× the WASM step at 9 images and less memory, for a measured loss of
   * accuracy (docs/model-format.md#int8-activations). `false` leaves it out (WASM then runs `hostCacheFile`).
   */
  readonly int8Activations?: boolean;
  readonly log?: (line: string) => void;
}

const TOKENIZER_FILES = ['vocab.json', 'merges.txt'] as const;
const OPTIONAL_FILES = ['enwiki-words-frequency.txt'] as const;

function readJson(file: string): unknown {
  if (!existsSync(file)) throw new CheckpointError(`${file} is missing`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    throw new CheckpointError(`${file} is not valid JSON (${(error as Error).message})`);
  }
}

/**
 * Size and sha256 from one pass in 16 MiB pieces: a tensor larger than the shard size gets a data
 * file of its own, which need not sit in memory whole.
 */
function describeFile(dir: string, path: string): ManifestFile {
  const hash = createHash('sha256');
  const bytes = forEachPiece(join(dir, path), 1 << 24, (piece) => hash.update(piece));
  return { path, bytes, sha256: hash.digest('hex') };
}

/** The decoder without `present.*`, over the decoder's own external data (GraphEntry.hostCacheFile). */
export const HOST_CACHE_DECODER_FILE = 'decoder_host_cache.onnx';
/** The host-cache decoder with int8 activations, over the decoder's external data (GraphEntry.wasmHostCacheFile). */
export const WASM_HOST_CACHE_DECODER_FILE = 'decoder_host_cache_int8.onnx';
/** The host-cache decoder as WebGPU captures it (q8, q4), over the decoder's external data (GraphEntry.captureFile). */
export const CAPTURE_DECODER_FILE = 'decoder_capture.onnx';
/**
 * The capture file's decoder taking its q8 linear weights, dequantized, as inputs (GraphEntry.weightInputsFile), and
 * the graph of those dequantizations alone (GraphEntry.dequantizeFile), both over the decoder's external data.
 */
export const WEIGHT_INPUTS_DECODER_FILE = 'decoder_weight_inputs.onnx';
export const DEQUANTIZE_DECODER_FILE = 'decoder_dequantize.onnx';
/** The VQGAN with Winograd convolutions, over the VQGAN's own external data (GraphEntry.wasmFile). */
export const WASM_VQGAN_FILE = 'vqgan_winograd.onnx';

type VariantField =
  'hostCacheFile' | 'wasmFile' | 'wasmHostCacheFile' | 'captureFile' | 'weightInputsFile' | 'dequantizeFile';

/** A file written from a graph's nodes, serialized as `graph` says. */
interface Serialization {
  readonly field: VariantField;
  readonly file: string;
  readonly graph?: GraphVariant;
}

/**
 * One of a graph's further files over the same external data (GraphEntry): the same nodes serialized as `graph`
 * says, or, with `build`, other nodes over the same weights (then serialized as `graph` says too, if given), and
 * `also` further files from those nodes.
 */
interface Variant extends Serialization {
  readonly build?: (b: GraphBuilder) => void;
  readonly also?: readonly Serialization[];
}

/**
 * The q8 decoder's weights dequantized once, on the GPU (docs/model-format.md#weights-dequantized-once): the capture
 * graph with its embedding table dequantized like the linear weights, so the weight-inputs graph lifts it out too.
 */
function weightInputsVariant(model: OpenedModel): Variant {
  const hostCache = hostCacheDecoderVariant(model.dalleConfig);
  return {
    field: 'weightInputsFile',
    file: WEIGHT_INPUTS_DECODER_FILE,
    graph: { ...hostCache, dequantizedWeights: 'inputs' },
    build: (b) =>
      buildDecoderGraph(b, model.dalle, model.dalleConfig, 'q8', {
        embeddingLookup: 'dequantized-table',
        target: 'webgpu',
      }),
    also: [
      { field: 'dequantizeFile', file: DEQUANTIZE_DECODER_FILE, graph: { ...hostCache, dequantizedWeights: 'graph' } },
    ],
  };
}

function writeGraph(
  dir: string,
  name: GraphName,
  dtype: ExportDtype,
  shardBytes: number | undefined,
  build: (b: GraphBuilder) => void,
  variants: readonly Variant[] = [],
): GraphEntry {
  const data = new ExternalDataWriter(dir, `${name}.onnx_data`, shardBytes);
  // Only a variant with nodes of its own needs to find the weights again (hashing costs a pass over them).
  const shared = variants.some((v) => v.build) ? new SharedWeights(data) : undefined;
  const builder = new GraphBuilder(name, shared?.record ?? data);
  const serialized: { readonly to: Serialization; readonly bytes: Uint8Array }[] = [];
  try {
    build(builder);
    for (const variant of variants) {
      let from = builder;
      if (variant.build && shared) {
        // Built after the first graph, so every weight it reads is already stored.
        from = new GraphBuilder(name, shared.reuse);
        variant.build(from);
      }
      for (const to of [variant, ...(variant.also ?? [])]) serialized.push({ to, bytes: from.serialize(to.graph) });
    }
  } finally {
    data.close();
  }
  writeFileSync(join(dir, `${name}.onnx`), builder.serialize());
  const entry: GraphEntry = {
    file: `${name}.onnx`,
    externalData: data.files,
    compute: name === 'vqgan' ? 'float32' : computeType(dtype),
  };
  const fields: Partial<Record<VariantField, string>> = {};
  for (const { to, bytes } of serialized) {
    writeFileSync(join(dir, to.file), bytes);
    fields[to.field] = to.file;
  }
  return { ...entry, ...fields };
}

/**
 * preview-colors.bin beside the graphs: decoding needs ONNX Runtime, which is asynchronous, so a child process runs it.
 */
function writeCodeColors(staging: string, vqganDir: string): void {
  const main = join(import.meta.dirname, 'code-colors-main.ts');
  const child = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), main, staging, vqganDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (child.status !== 0)
    throw new Error(`computing preview colours failed (exit ${child.status ?? child.signal}): ${child.stderr.trim()}`);
}

function openChecked(dir: string, what: string): FlaxCheckpoint {
  const file = join(dir, 'flax_model.msgpack');
  if (!existsSync(file)) throw new CheckpointError(`${file} is missing (${what} checkpoint)`);
  return FlaxCheckpoint.open(file);
}

interface OpenedModel {
  readonly dalleConfig: DalleBartConfig;
  readonly vqganConfig: VqganConfig;
  readonly dalle: ParamSource;
  readonly vqgan: ParamSource;
  close(): void;
}

/** Reads both configs and checkpoints and checks every tensor's shape before anything is written. */
export function openCheckpoints(dalleDir: string, vqganDir: string): OpenedModel {
  const dalleConfig = parseDalleBartConfig(readJson(join(dalleDir, 'config.json')), join(dalleDir, 'config.json'));
  const vqganConfig = parseVqganConfig(readJson(join(vqganDir, 'config.json')), join(vqganDir, 'config.json'));
  for (const file of TOKENIZER_FILES) {
    if (!existsSync(join(dalleDir, file)))
      throw new CheckpointError(`${join(dalleDir, file)} is missing (tokenizer file)`);
  }
  const dalleCheckpoint = openChecked(dalleDir, 'DalleBart');
  let vqganCheckpoint: FlaxCheckpoint | undefined;
  try {
    checkLayout(dalleCheckpoint, dalleBartLayout(dalleConfig), 'DalleBart');
    vqganCheckpoint = openChecked(vqganDir, 'VQGAN');
    checkLayout(vqganCheckpoint, vqganLayout(vqganConfig), 'VQGAN');
  } catch (error) {
    dalleCheckpoint.close();
    vqganCheckpoint?.close();
    throw error;
  }
  const vq = vqganCheckpoint;
  return {
    dalleConfig,
    vqganConfig,
    dalle: new CheckpointParams(dalleCheckpoint),
    vqgan: new CheckpointParams(vq),
    close: () => {
      dalleCheckpoint.close();
      vq.close();
    },
  };
}

export function exportModel(options: ExportOptions): ModelManifest {
  const log = options.log ?? (() => undefined);
  const out = checkExportTarget(options.outDir, [options.dalleDir, options.vqganDir], options.force ?? false);
  const model = openCheckpoints(options.dalleDir, options.vqganDir);
  const staging = createStaging(out);
  try {
    const { dtype } = options;
    log(`encoder (${dtype})…`);
    // Both DalleBart graphs take any text length (GraphEntry.dynamicTextLength).
    const encoder = {
      ...writeGraph(staging, 'encoder', dtype, options.shardBytes, (b) =>
        buildEncoderGraph(b, model.dalle, model.dalleConfig, dtype),
      ),
      dynamicTextLength: true,
    };
    log(`decoder (${dtype})…`);
    const decoder = {
      ...writeGraph(
        staging,
        'decoder',
        dtype,
        options.shardBytes,
        (b) => buildDecoderGraph(b, model.dalle, model.dalleConfig, dtype),
        [
          { field: 'hostCacheFile', file: HOST_CACHE_DECODER_FILE, graph: hostCacheDecoderVariant(model.dalleConfig) },
          ...(dtype === 'q8' && options.int8Activations !== false
            ? [
                {
                  field: 'wasmHostCacheFile',
                  file: WASM_HOST_CACHE_DECODER_FILE,
                  graph: hostCacheDecoderVariant(model.dalleConfig),
                  build: (b: GraphBuilder) =>
                    buildDecoderGraph(b, model.dalle, model.dalleConfig, dtype, { q8Matmul: 'int8-activations' }),
                } as const,
              ]
            : []),
          // Quantized embeddings gather int8 rows, which WebGPU cannot: the graph it captures gathers from floats. Only
          // WebGPU loads it, so its norms are WebGPU's faster kernel (docs/model-format.md#layer-norm).
          ...(dtype === 'q8' || dtype === 'q4'
            ? [
                {
                  field: 'captureFile',
                  file: CAPTURE_DECODER_FILE,
                  graph: hostCacheDecoderVariant(model.dalleConfig),
                  build: (b: GraphBuilder) =>
                    buildDecoderGraph(b, model.dalle, model.dalleConfig, dtype, {
                      embeddingLookup: 'float-table',
                      target: 'webgpu',
                    }),
                } as const,
              ]
            : []),
          ...(dtype === 'q8' ? [weightInputsVariant(model)] : []),
        ],
      ),
      dynamicTextLength: true,
      // The host-cache graph (q8, q4: its captureFile) has no CPU-side node on WebGPU and no Reshape in front of an
      // output (dallebart.ts). q8 is captured only where WebGPU dequantizes its weights once (foldsDecoderOnWebgpu).
      graphCapture: true,
    };
    log(`vqgan (${dtype})…`);
    const vqgan = writeGraph(
      staging,
      'vqgan',
      dtype,
      options.shardBytes,
      (b) => buildVqganGraph(b, model.vqgan, model.vqganConfig, dtype, 'direct'),
      [
        {
          field: 'wasmFile',
          file: WASM_VQGAN_FILE,
          build: (b) => buildVqganGraph(b, model.vqgan, model.vqganConfig, dtype, 'winograd'),
        },
      ],
    );
    log('preview colours…');
    writeCodeColors(staging, options.vqganDir);
    for (const file of [...TOKENIZER_FILES, ...OPTIONAL_FILES]) {
      if (existsSync(join(options.dalleDir, file))) copyFileSync(join(options.dalleDir, file), join(staging, file));
    }
    const hasWords = existsSync(join(staging, OPTIONAL_FILES[0]));
    const files: ManifestFile[] = readdirSync(staging)
      .filter((path) => path !== STAGING_MARK)
      .sort()
      .map((path) => describeFile(staging, path));
    const c = model.dalleConfig;
    const manifest: ModelManifest = {
      format: MANIFEST_FORMAT,
      modelId: options.modelId ?? basename(options.dalleDir),
      dtype,
      dalleBart: c,
      vqgan: model.vqganConfig,
      specialTokens: {
        ...TEXT_SPECIAL_TOKENS,
        imageStart: c.decoderStartTokenId,
        imageCodes: model.vqganConfig.nEmbed,
      },
      graphs: { encoder, decoder, vqgan },
      preview: { codeColors: CODE_COLORS_FILE },
      tokenizer: {
        vocab: 'vocab.json',
        merges: 'merges.txt',
        ...(hasWords ? { wordFrequencies: OPTIONAL_FILES[0] } : {}),
      },
      files,
    };
    writeFileSync(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    replaceWithStaged(staging, out);
    return manifest;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  } finally {
    model.close();
  }
}
