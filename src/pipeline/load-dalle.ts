/**
 * The one way to build a model and free it: the prompt encoder (tokenizer files) and the three ONNX
 * sessions from any ModelSource. The worker, the CLIs, the benchmarks and the tests all load here.
 */
import type { ModelSource } from '../model/model-source.ts';
import { loadPromptEncoder } from '../text/prompt-encoder.ts';
import type { PromptEncoder } from '../text/prompt-encoder.ts';
import { DalleEngine, capturesDecoder, loadsHostCacheGraph } from './engine.ts';
import type { CapturedDecoderSessions, EngineOptions } from './engine.ts';
import { capturedDecoderOptions } from './decoder-capture.ts';
import { createDalleSessions, createSession, loadedFile } from './runtime.ts';
import type { OrtApi, SessionOptions } from './runtime.ts';
import type { GraphName } from '../model/manifest.ts';

export interface LoadedDalle {
  readonly engine: DalleEngine;
  readonly text: PromptEncoder;
  /** RGB per image code for mosaic previews, when the model folder has them (manifest `preview`). */
  readonly codeColors?: Uint8Array;
  /**
   * The decoder graph file the session loaded (runtime.ts graphFile: for q8 on WASM, the int8-activation one; for a
   * captured q4 decoder, its capture file; for a q8 decoder dequantized once, its weight-inputs file, or the file it
   * fell back to where that failed).
   */
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
  const { manifest } = source;
  let captured: CapturedDecoderSessions | undefined;
  if (capturesDecoder(engineOptions, manifest, sessionOptions('decoder'))) {
    const create = (rows: number) =>
      createSession(ort, source, 'decoder', capturedDecoderOptions(sessionOptions('decoder'), manifest, rows), true);
    captured = { rows: 2 * (engineOptions.capturedImages ?? 1), create };
  }
  const captureRows = captured?.rows;
  const options = (graph: GraphName): SessionOptions =>
    graph === 'decoder' && captureRows !== undefined
      ? capturedDecoderOptions(sessionOptions(graph), manifest, captureRows)
      : sessionOptions(graph);
  // A runtime that cannot capture the decoder (it refuses the session, or its first runs fail) runs it step by step.
  const uncaptured = (error: unknown): SessionOptions => {
    console.warn('graph capture is not available here: the decoder runs step by step', error);
    captured = undefined;
    return sessionOptions('decoder');
  };
  let sessions = await createDalleSessions(ort, source, options, hostCache, (graph, error) =>
    graph === 'decoder' && captured ? uncaptured(error) : undefined,
  );
  let engine = new DalleEngine(ort, sessions, manifest, engineOptions, captured);
  if (captured) {
    try {
      // Its shapes are fixed: a session made for capture can only run captured.
      if (!engine.decoderCaptured) throw new Error('the engine does not run this decoder captured');
      await engine.prepareCapture();
    } catch (error) {
      await engine.releaseDecoder().catch(() => undefined);
      const decoder = await createSession(ort, source, 'decoder', uncaptured(error), hostCache).catch(
        async (failed: unknown) => {
          await Promise.allSettled([sessions.encoder.release(), sessions.vqgan.release()]);
          throw failed;
        },
      );
      sessions = { ...sessions, decoder };
      engine = new DalleEngine(ort, sessions, manifest, engineOptions);
    }
  }
  const loaded = sessions;
  let disposed: Promise<void> | undefined;
  return {
    engine,
    text,
    decoderFile: loadedFile(sessions.decoder),
    ...(codeColors === undefined ? {} : { codeColors }),
    // The engine owns the decoder session (a captured one may have replaced the one loaded here).
    dispose: () =>
      (disposed ??= Promise.all([loaded.encoder.release(), loaded.vqgan.release(), engine.releaseDecoder()]).then(
        () => undefined,
      )),
  };
}
