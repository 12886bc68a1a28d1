/**
 * The one way to build a model and free it: the prompt encoder (tokenizer files) and the three ONNX
 * sessions from any ModelSource. The worker, the CLIs, the benchmarks and the tests all load here.
 */
import type { ModelSource } from '../model/model-source.ts';
import { loadPromptEncoder } from '../text/prompt-encoder.ts';
import type { PromptEncoder } from '../text/prompt-encoder.ts';
import { DalleEngine, loadsHostCacheGraph } from './engine.ts';
import type { EngineOptions } from './engine.ts';
import { createDalleSessions, graphFile } from './runtime.ts';
import type { OrtApi, SessionOptions } from './runtime.ts';
import type { GraphName } from '../model/manifest.ts';

export interface LoadedDalle {
  readonly engine: DalleEngine;
  readonly text: PromptEncoder;
  /** RGB per image code for mosaic previews, when the model folder has them (manifest `preview`). */
  readonly codeColors?: Uint8Array;
  /** The decoder graph file the session loaded (runtime.ts graphFile: for q8 on WASM, the int8-activation one). */
  readonly decoderFile: string;
  /** Releases the sessions (GPU buffers on WebGPU). The model cannot run afterwards. */
  readonly dispose: () => Promise<void>;
}

export async function loadDalle(
  ort: OrtApi,
  source: ModelSource,
  sessionOptions: (graph: GraphName) => SessionOptions = () => ({}),
  engineOptions: EngineOptions = {},
): Promise<LoadedDalle> {
  const text = await loadPromptEncoder(source);
  const colorsPath = source.manifest.preview?.codeColors;
  const codeColors = colorsPath === undefined ? undefined : await source.readFile(colorsPath);
  const hostCache = loadsHostCacheGraph(engineOptions);
  const sessions = await createDalleSessions(ort, source, sessionOptions, hostCache);
  const engine = new DalleEngine(ort, sessions, source.manifest, engineOptions);
  let disposed: Promise<void> | undefined;
  return {
    engine,
    text,
    decoderFile: graphFile(source.manifest.graphs.decoder, sessionOptions('decoder'), hostCache),
    ...(codeColors === undefined ? {} : { codeColors }),
    dispose: () =>
      (disposed ??= Promise.all(Object.values(sessions).map((session) => session.release())).then(() => undefined)),
  };
}
