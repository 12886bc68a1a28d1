/**
 * One benchmark run: load a model, warm up, then time one whole generation through the app's own
 * pipeline (loadDalle, generateImages with the worker's preview settings). Only the sessions are
 * wrapped (as ONNX Runtime makes them), to learn when each graph ran. No Node or browser API here:
 * the Node child process and the browser bench page both call it.
 */
import type { EngineOptions } from '../src/pipeline/engine.ts';
import { GenerationCancelledError } from '../src/pipeline/errors.ts';
import { DEFAULT_PREVIEW_EVERY, generateImages } from '../src/pipeline/generate-images.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import { ownGemmKernel } from '../src/pipeline/own-session.ts';
import { DEFAULT_SAMPLING } from '../src/pipeline/sampler.ts';
import type { OrtApi, Session, SessionOptions } from '../src/pipeline/runtime.ts';
import { loadedFile, ownKernelsFile } from '../src/pipeline/runtime.ts';
import type { GraphName } from '../src/model/graph-io.ts';
import type { ModelSource } from '../src/model/model-source.ts';
import type { BatchSizes } from '../src/pipeline/batch-size.ts';
import { median, stepStats } from './bench-report.ts';
import type { BenchRun, RunRuntime } from './bench-report.ts';

export interface MeasureOptions {
  readonly ort: OrtApi;
  readonly source: ModelSource;
  readonly sessionOptions: (graph: GraphName) => SessionOptions;
  readonly runtime: RunRuntime;
  readonly threads: number;
  readonly images: number;
  readonly steps: number;
  /** VQGAN previews every DEFAULT_PREVIEW_EVERY steps as the app decodes them (default), or none. */
  readonly previews?: boolean;
  readonly batch: BatchSizes;
  /** The app's engine options for the backend (WebGPU: `cacheOnDevice`). */
  readonly engineOptions?: EngineOptions;
  readonly log?: (line: string) => void;
  /** The machine's 1-minute load average (Node: os.loadavg; the browser page asks its Playwright driver). */
  readonly loadAverage?: () => number | Promise<number>;
}

interface GraphRun {
  readonly graph: GraphName;
  readonly start: number;
  readonly end: number;
}

/** The GEMM kernel a decoder on our kernels ran, for the report. */
function gemmKernelFields(decoder: Session): Pick<BenchRun, 'gemm_kernel' | 'gemm_kernel_reason'> {
  const choice = ownGemmKernel(decoder);
  return choice ? { gemm_kernel: choice.kernel, gemm_kernel_reason: choice.reason } : {};
}

/**
 * Makes `session` append each run's graph, start and end to `runs`, in place: the same object (the pipeline knows
 * some sessions by identity), whether ONNX Runtime's or one on our own kernels. Decoder steps are timed by the
 * generation's progress; the decoder's runs only tell how much of a step is the graph's run.
 */
function timeRuns(session: Session, graph: GraphName, runs: GraphRun[]): void {
  const run = session.run.bind(session);
  session.run = (async (...args: Parameters<Session['run']>) => {
    const start = performance.now();
    const out = await run(...args);
    runs.push({ graph, start, end: performance.now() });
    return out;
  }) as Session['run'];
}

const PROMPT = 'a photo of an astronaut riding a horse';

export async function measureGeneration(options: MeasureOptions): Promise<Omit<BenchRun, 'peak_rss_mb'>> {
  const loadAverage = async (): Promise<number | null> => (options.loadAverage ? options.loadAverage() : null);
  const { ort, source, images, steps } = options;
  const log = options.log ?? (() => undefined);
  // CPU runtimes keep the KV cache themselves and run the decoder graph without present.* (docs/performance.md).
  const engineOptions = options.engineOptions ?? { hostCacheGraph: true };
  const runs: GraphRun[] = [];
  const loaded = await loadDalle(ort, source, options.sessionOptions, engineOptions);
  try {
    const { engine } = loaded;
    timeRuns(engine.sessions.encoder, 'encoder', runs);
    timeRuns(engine.sessions.vqgan, 'vqgan', runs);
    timeRuns(engine.sessions.decoder, 'decoder', runs);
    const S = source.manifest.dalleBart.imageLength;
    const stepsToRun = Math.min(steps, S);
    const generate = async (seed: number, stopAfter: number, progress: number[], previews: number[]) => {
      const controller = new AbortController();
      try {
        return await generateImages(
          engine,
          {
            prompt: loaded.text.encode(PROMPT, seed),
            unconditional: loaded.text.unconditional,
            count: images,
            seed,
            sampling: DEFAULT_SAMPLING,
            batch: options.batch,
            previewEvery: options.previews === false ? 0 : DEFAULT_PREVIEW_EVERY,
            signal: controller.signal,
          },
          {
            onProgress: ({ step }) => {
              progress.push(performance.now());
              if (step >= stopAfter) controller.abort();
            },
            onPreview: () => void previews.push(performance.now()),
            // The worker sends each step's codes to the page, which paints them when the model has code colours.
            ...(loaded.codeColors ? { onCodes: () => void previews.push(performance.now()) } : {}),
          },
        );
      } catch (error) {
        if (error instanceof GenerationCancelledError) return null;
        throw error;
      }
    };
    // Warm-up: first runs pay for allocations and kernel choice, which a page pays once per model.
    log(`${options.runtime} ${images} image(s): warm-up`);
    await generate(1, 2, [], []);
    const warmBatch = Math.min(images, options.batch.vqgan);
    await engine.decodeImages(new Int32Array(warmBatch * S), warmBatch);

    runs.length = 0;
    const progress: number[] = [];
    const previews: number[] = [];
    log(`${options.runtime} ${images} image(s): ${stepsToRun} steps`);
    const loadStart = await loadAverage();
    const sampledBefore = engine.stepsSampledOnDevice;
    const started = performance.now();
    const result = await generate(2, stepsToRun < S ? stepsToRun : Infinity, progress, previews);
    const finished = performance.now();
    const loadEnd = await loadAverage();
    const encoder = runs.find((r) => r.graph === 'encoder');
    if (!encoder || progress.length === 0) throw new Error('the generation ran no decoder step');
    const vqgan = runs.filter((r) => r.graph === 'vqgan');
    const vqganWithin = (from: number, to: number): number =>
      vqgan.filter((r) => r.start >= from && r.end <= to).reduce((sum, r) => sum + (r.end - r.start), 0);
    const stepMs = progress.map((at, i) => {
      const from = i === 0 ? encoder.end : progress[i - 1]!;
      return at - from - vqganWithin(from, at);
    });
    // A run cut short by --steps decodes no final images: time one VQGAN batch of placeholder codes instead (the codes
    // do not change the work; one batch, since on a busy machine a decode of 9 images takes minutes).
    let vqganMsPerImage: number;
    if (result) {
      vqganMsPerImage = vqganWithin(progress[progress.length - 1]!, finished) / images;
    } else {
      const decodeStarted = performance.now();
      await engine.decodeImages(new Int32Array(warmBatch * S), warmBatch);
      vqganMsPerImage = (performance.now() - decodeStarted) / warmBatch;
    }
    const decoderRuns = runs.filter((r) => r.graph === 'decoder').map((r) => r.end - r.start);
    return {
      runtime: options.runtime,
      images,
      threads: options.threads,
      encoder_ms: encoder.end - encoder.start,
      ...stepStats(stepMs),
      ...(decoderRuns.length > 0 ? { decoder_run_ms: median(decoderRuns) } : {}),
      vqgan_ms_per_image: vqganMsPerImage,
      seconds_per_image: result ? (finished - started) / 1000 / images : null,
      first_preview_ms: previews.length > 0 ? previews[0]! - started : null,
      load_avg_start: loadStart,
      load_avg_end: loadEnd,
      decoder_file: loaded.decoderFile,
      ...(options.runtime === 'web-wasm' && source.manifest.dtype === 'q8'
        ? {
            own_kernels:
              loaded.decoderFile === ownKernelsFile(source.manifest.graphs.decoder) &&
              loadedFile(engine.sessions.encoder) === ownKernelsFile(source.manifest.graphs.encoder),
            ...gemmKernelFields(engine.sessions.decoder),
          }
        : {}),
      ...(options.runtime === 'web-webgpu'
        ? {
            gpu_sampling: engineOptions.candidates !== undefined,
            graph_capture: engine.decoderCaptured,
            sampled_on_gpu: (engine.stepsSampledOnDevice - sampledBefore) / progress.length,
          }
        : {}),
    };
  } finally {
    await loaded.dispose();
  }
}
