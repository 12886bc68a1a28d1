/**
 * `manifest.json`: what an exported model folder holds. The app, the Node CLI and the benchmarks
 * load models only through it; every file carries its size and sha256 so a corrupted or partial
 * download is caught before ONNX Runtime sees it.
 */
import { readDalleBartConfig, readVqganConfig, vqganGridSize } from './config.ts';
import { ExpectedError } from '../core/expected-error.ts';
import type { DalleBartConfig, VqganConfig } from './config.ts';
import type { GraphName } from './graph-io.ts';
import { describeValue, JsonField } from './validate.ts';

export const MANIFEST_FORMAT = 'dalle-mini-web/1';
export const MODEL_DTYPES = ['fp32', 'fp16', 'q8', 'q4'] as const;
export type ModelDtype = (typeof MODEL_DTYPES)[number];
export type { GraphName };

export interface ManifestFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface GraphEntry {
  readonly file: string;
  /** External-data files, in the order ONNX Runtime needs them mounted (their names are the paths the graph names). */
  readonly externalData: readonly string[];
  /** Float type of the activations crossing the graph boundary (caches, cross keys/values). */
  readonly compute: 'float32' | 'float16';
  /**
   * Decoder only, optional (older folders lack it): the same graph without the `present.*` outputs,
   * over the same `externalData`, for runtimes that keep the KV cache in host buffers
   * (docs/model-format.md#kv-cache).
   */
  readonly hostCacheFile?: string;
  /**
   * Encoder and decoder, optional (older folders lack it: their text axis is fixed at `maxTextLength`): the
   * graph takes any text length from 1 to `maxTextLength`, so the engine feeds only the prompt rows' unpadded
   * tokens (docs/model-format.md#text-length).
   */
  readonly dynamicTextLength?: boolean;
  /**
   * Decoder only, optional (older folders lack it): `hostCacheFile` (or `captureFile`) runs whole on WebGPU, with no
   * node ONNX Runtime keeps on the CPU and no copy in front of an output, so a session of it with static shapes can be
   * captured and replayed (`enableGraphCapture`; docs/model-format.md#graph-capture).
   */
  readonly graphCapture?: boolean;
  /**
   * Decoder only, optional (q8, q4 exports): `hostCacheFile` as WebGPU captures it, over the same `externalData`: its
   * embedding gathered from a float table ONNX Runtime folds at load rather than as int8 rows, which WebGPU has no
   * kernel for (docs/model-format.md#graph-capture). Captured sessions load it; `graphCapture` then speaks of it.
   */
  readonly captureFile?: string;
  /**
   * Decoder only, optional (q8 exports, both or neither): `captureFile` taking its linear layers' weights and its
   * token embedding table as float32 inputs instead of dequantizing its int8 ones (`weightInputsFile`), and
   * `dequantizeFile`, the graph computing those inputs from the int8 weights, both over the same `externalData`.
   * WebGPU runs the second once at load, on the GPU, and feeds its outputs to every step of the first
   * (docs/model-format.md#weights-dequantized-once).
   */
  readonly weightInputsFile?: string;
  readonly dequantizeFile?: string;
  /**
   * VQGAN only, optional (older folders lack it): the same decoder with its 3×3 convolutions as
   * Winograd F(4×4, 3×3), over the same `externalData`, for the WASM backend, where it is faster
   * (docs/model-format.md#vqgan). Native ONNX Runtime and WebGPU load `file`.
   */
  readonly wasmFile?: string;
  /**
   * Decoder only, optional: a host-cache graph for the WASM backend, over the same `externalData`, whose linear
   * layers multiply in int8 (q8 exports; docs/model-format.md#int8-activations). WASM's integer kernels compute it
   * exactly and faster; native ONNX Runtime's AVX2 ones may saturate it, so native runs load `hostCacheFile`.
   */
  readonly wasmHostCacheFile?: string;
}

/**
 * The text special ids of DALL·E Mini's BART vocab (docs/model-format.md#special-tokens): the
 * tokenizer and the exporter both use these.
 */
export const TEXT_SPECIAL_TOKENS = { bos: 0, pad: 1, eos: 2, unk: 3 } as const;

export interface SpecialTokens {
  readonly bos: number;
  readonly pad: number;
  readonly eos: number;
  readonly unk: number;
  /** The decoder start token (16384 for the released models, docs/model-format.md#start-token). */
  readonly imageStart: number;
  /**
   * The number of image codes (the VQGAN codebook, `n_embed`): sampling is restricted to ids
   * 0 … imageCodes − 1. A count; arrays of sampled codes are called `codes`.
   */
  readonly imageCodes: number;
}

export interface ModelManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly modelId: string;
  readonly dtype: ModelDtype;
  readonly dalleBart: DalleBartConfig;
  readonly vqgan: VqganConfig;
  readonly specialTokens: SpecialTokens;
  readonly graphs: Readonly<Record<GraphName, GraphEntry>>;
  /**
   * File paths (entries of `files`). `wordFrequencies` is the on-disk manifest.json key of the optional
   * hashtag word list; the WordSegmenter built from it is called `wordSegmenter` (src/text/).
   */
  readonly tokenizer: { readonly vocab: string; readonly merges: string; readonly wordFrequencies?: string };
  /**
   * Optional (older folders lack it): `codeColors` names a file of 3 bytes (RGB) per image code, the
   * colour each code decodes to on average, for instant mosaic previews (docs/model-format.md#preview-colours).
   */
  readonly preview?: { readonly codeColors: string };
  readonly files: readonly ManifestFile[];
}

export class ManifestError extends ExpectedError {
  override name = 'ManifestError';
}

const MANIFEST_HINT =
  'The model folder is damaged or was written by another exporter: export it again (npm run export).';

/** Plain relative names only: no absolute paths or URLs, no `..`, no percent-escapes, no backslashes. */
const MODEL_PATH_PATTERN = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
const MAX_PATH_CHARS = 200;

/** True for a path a model folder may hold: plain names joined by `/`, never a `.` or `..` segment. */
export function isModelPath(path: string): boolean {
  return (
    path.length <= MAX_PATH_CHARS &&
    MODEL_PATH_PATTERN.test(path) &&
    path.split('/').every((segment) => segment !== '.' && segment !== '..')
  );
}

/**
 * One file may reach 4 GiB: ONNX Runtime's WASM heap cannot hold more, and the exporter splits data
 * at 64 MiB by default.
 */
export const MAX_FILE_BYTES = 2 ** 32;
const MAX_FILES = 1000;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

function readPath(field: JsonField): string {
  const path = field.string({ maxLength: MAX_PATH_CHARS });
  if (!isModelPath(path))
    field.fail(
      `must be a relative path of plain names (letters, digits, ".", "_", "-") joined by "/", without "..", got ${describeValue(path)}`,
    );
  return path;
}

/** The `files` list of any of our manifests: plain paths, each once, with size and sha256. */
export function readFiles(field: JsonField): ManifestFile[] {
  const seen = new Map<string, string>();
  return field.items({ min: 1, max: MAX_FILES }).map((item) => {
    const path = readPath(item.field('path'));
    const first = seen.get(path);
    if (first !== undefined) item.field('path').fail(`repeats ${first}.path (${path})`);
    seen.set(path, item.path);
    const sha256 = item
      .field('sha256')
      .string({ maxLength: 64, pattern: SHA256_PATTERN, patternText: '64 lowercase hex digits' });
    return { path, bytes: item.field('bytes').int({ min: 1, max: MAX_FILE_BYTES }), sha256 };
  });
}

/** A graph's optional files beside `file`, over the same external data (GraphEntry). */
type GraphVariantField =
  'hostCacheFile' | 'wasmFile' | 'wasmHostCacheFile' | 'captureFile' | 'weightInputsFile' | 'dequantizeFile';

interface GraphFields {
  /** The optional files this graph may have. */
  readonly variants?: readonly GraphVariantField[];
  /** The encoder's and decoder's `dynamicTextLength`. */
  readonly text?: boolean;
  /** The decoder's `graphCapture`. */
  readonly capture?: boolean;
}

function readGraph(field: JsonField, listed: (field: JsonField) => string, fields: GraphFields = {}): GraphEntry {
  const variants: Partial<Record<GraphVariantField, string>> = {};
  for (const variant of fields.variants ?? []) {
    const path = field.field(variant).optional(listed);
    if (path !== undefined) variants[variant] = path;
  }
  // The weight-inputs decoder runs only on what the dequantization graph computes: both or neither.
  const pair = ['weightInputsFile', 'dequantizeFile'] as const;
  for (const [one, other] of [pair, [pair[1], pair[0]]] as const) {
    if (variants[one] !== undefined && variants[other] === undefined)
      field.field(other).fail(`is missing, but ${one} needs it`);
  }
  const dynamicTextLength = fields.text ? field.field('dynamicTextLength').optional((f) => f.boolean()) : undefined;
  const graphCapture = fields.capture ? field.field('graphCapture').optional((f) => f.boolean()) : undefined;
  return {
    file: listed(field.field('file')),
    externalData: field.field('externalData').items({ min: 0, max: 64 }).map(listed),
    compute: field.field('compute').oneOf(['float32', 'float16']),
    ...variants,
    ...(dynamicTextLength === undefined ? {} : { dynamicTextLength }),
    ...(graphCapture === undefined ? {} : { graphCapture }),
  };
}

function readSpecialTokens(field: JsonField, dalleBart: DalleBartConfig, vqgan: VqganConfig): SpecialTokens {
  const text = { min: 0, max: dalleBart.encoderVocabSize - 1 };
  return {
    bos: field.field('bos').int(text),
    pad: field.field('pad').int(text),
    eos: field.field('eos').int(text),
    unk: field.field('unk').int(text),
    imageStart: field.field('imageStart').int({ min: 0, max: dalleBart.imageVocabSize }),
    // Sampled codes must be rows of the decoder's logits and of the VQGAN's codebook.
    imageCodes: field.field('imageCodes').int({ min: 1, max: Math.min(dalleBart.imageVocabSize, vqgan.nEmbed) }),
  };
}

/** Whether the model computes in float16 anywhere, which WebGPU runs only with the adapter's `shader-f16` feature. */
export function needsShaderF16(manifest: Pick<ModelManifest, 'graphs'>): boolean {
  return Object.values(manifest.graphs).some((graph) => graph.compute === 'float16');
}

/** Checks every field of a parsed manifest.json (it may come from any server) and returns a fresh, typed copy. */
export function parseManifest(json: unknown, source = 'manifest.json'): ModelManifest {
  const root = JsonField.root(json, { source, error: ManifestError, hint: MANIFEST_HINT }).object();
  root.field('format').oneOf([MANIFEST_FORMAT]);
  const files = readFiles(root.field('files'));
  const paths = new Set(files.map((f) => f.path));
  const listed = (field: JsonField): string => {
    const path = readPath(field);
    if (!paths.has(path)) field.fail(`names ${path}, which "files" does not list`);
    return path;
  };
  const dalleBart = readDalleBartConfig(root.field('dalleBart'), 'manifest');
  const vqgan = readVqganConfig(root.field('vqgan'), 'manifest');
  const grid = vqganGridSize(vqgan);
  if (dalleBart.imageLength !== grid * grid)
    root
      .field('dalleBart.imageLength')
      .fail(`is ${dalleBart.imageLength}, but the VQGAN decodes a ${grid}×${grid} grid of codes`);
  const tokenizer = root.field('tokenizer').object();
  const wordFrequencies = tokenizer.field('wordFrequencies').optional(listed);
  const codeColors = root.field('preview').optional((preview) => {
    const field = preview.object().field('codeColors');
    const path = listed(field);
    const want = vqgan.nEmbed * 3;
    if (files.find((f) => f.path === path)!.bytes !== want)
      field.fail(`names ${path}, which must be ${want} bytes (RGB for each of ${vqgan.nEmbed} codes)`);
    return path;
  });
  return {
    format: MANIFEST_FORMAT,
    modelId: root
      .field('modelId')
      .string({ maxLength: 200, pattern: /^[^\p{Cc}]+$/u, patternText: 'a name without control characters' }),
    dtype: root.field('dtype').oneOf(MODEL_DTYPES),
    dalleBart,
    vqgan,
    specialTokens: readSpecialTokens(root.field('specialTokens'), dalleBart, vqgan),
    graphs: {
      encoder: readGraph(root.field('graphs.encoder'), listed, { text: true }),
      decoder: readGraph(root.field('graphs.decoder'), listed, {
        variants: ['hostCacheFile', 'wasmHostCacheFile', 'captureFile', 'weightInputsFile', 'dequantizeFile'],
        text: true,
        capture: true,
      }),
      vqgan: readGraph(root.field('graphs.vqgan'), listed, { variants: ['wasmFile'] }),
    },
    tokenizer: {
      vocab: listed(tokenizer.field('vocab')),
      merges: listed(tokenizer.field('merges')),
      ...(wordFrequencies === undefined ? {} : { wordFrequencies }),
    },
    ...(codeColors === undefined ? {} : { preview: { codeColors } }),
    files,
  };
}
