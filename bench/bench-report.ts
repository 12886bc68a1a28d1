/**
 * The benchmark's results: one run per runtime × image count × thread count, the JSON the issue
 * asks for (`runs` plus model, versions and CPU), medians over repeats, and the printed table.
 */

/**
 * `web-wasm`: onnxruntime-web WASM (Node or Chromium); `web-webgpu`: onnxruntime-web WebGPU (Chromium, or Dawn in
 * Node); `node`: onnxruntime-node.
 */
export type RunRuntime = 'web-wasm' | 'web-webgpu' | 'node';

/** Milliseconds unless the name says otherwise; null where a run did not measure it. */
export interface BenchRun {
  readonly runtime: RunRuntime;
  readonly images: number;
  readonly threads: number;
  readonly encoder_ms: number;
  /** Median of the first 8 decoder steps (one step: decoder run, sampling, cache upkeep; VQGAN previews excluded). */
  readonly step_ms_first: number;
  readonly step_ms_median: number;
  /** Median of the last 8 decoder steps. */
  readonly step_ms_last: number;
  /**
   * Median time inside the decoder session's run (a step's graph; the rest of a step is sampling, cache upkeep and, on
   * WebGPU, waiting for the GPU's results); absent in reports from before it and where a batch's decoder was not
   * loadDalle's session.
   */
  readonly decoder_run_ms?: number;
  /**
   * The final decode over the image count; when --steps cut the run short, one VQGAN batch of placeholder codes
   * over its size. Null only in reports from before that.
   */
  readonly vqgan_ms_per_image: number | null;
  /**
   * Wall time of a whole generation (encoder, every step, previews, VQGAN) over the image count; null when --steps cut
   * it short.
   */
  readonly seconds_per_image: number | null;
  /** From the start of the generation to the first preview the page would draw; null when none came. */
  readonly first_preview_ms: number | null;
  /**
   * Peak resident memory: Node, the measuring process's maxRSS; the browser, all of its Chromium's processes (browser,
   * GPU process, renderer) sampled by the driver, where `ps` is there.
   */
  readonly peak_rss_mb: number | null;
  /**
   * The browser: onnxruntime-web's WASM heap at the end, in MB (a WASM memory never shrinks: the most ONNX Runtime held
   * in the page, bench/browser/wasm-memories.ts); null where ONNX Runtime never instantiated its WASM (our kernels
   * ran every graph); absent elsewhere.
   */
  readonly wasm_heap_mb?: number | null;
  /** The browser: our kernels' WebAssembly memories at the end (the int8 GEMM's, the VQGAN's), summed, in MB. */
  readonly own_kernels_memory_mb?: number;
  /** The machine's 1-minute load average when the measured generation started and ended (os.loadavg). */
  readonly load_avg_start: number | null;
  readonly load_avg_end: number | null;
  /**
   * The decoder graph file the run loaded (for q8, WASM's int8-activation one differs from native's); absent in
   * reports from before it.
   */
  readonly decoder_file?: string;
  /**
   * WebGPU: the share of measured steps whose codes were drawn from the sampling shader's candidates rather than from
   * the whole logits (EngineOptions.candidates); absent where there is no shader.
   */
  readonly sampled_on_gpu?: number;
  /**
   * WASM, q8: whether the encoder and decoder ran on our own kernels (the default) or on ONNX Runtime (`--runtimes
   * web-ort`); absent elsewhere.
   */
  readonly own_kernels?: boolean;
  /**
   * WASM on our kernels: the GEMM kernel the decoder ran (`dot16`, or `relaxed` where relaxed SIMD compiles and won or
   * was asked for: `bench:browser --gemm-kernel`), and why; absent elsewhere.
   */
  readonly gemm_kernel?: string;
  readonly gemm_kernel_reason?: string;
  /** `bench:browser --gemm-kernel`: the kernel asked for (`fastest`, `dot16`, `relaxed`); absent elsewhere. */
  readonly gemm_kernel_request?: string;
  /** WebGPU: whether sampling used the shader's candidates (`bench:browser --gpu-sampling`); absent elsewhere. */
  readonly gpu_sampling?: boolean;
  /** WebGPU: whether the decoder ran as a captured graph (`bench:browser --graph-capture`); absent elsewhere. */
  readonly graph_capture?: boolean;
  /**
   * WebGPU, q8: whether the decoder's weights were dequantized to float32 once at load or at every step
   * (`bench:browser --fold-weights`); absent elsewhere.
   */
  readonly folded_weights?: boolean;
  /** WebGPU on Dawn in Node (`npm run bench -- --runtimes webgpu`): the adapter's vendor, architecture, description. */
  readonly adapter?: string;
}

export interface BenchReport {
  readonly model_id: string;
  readonly dtype: string;
  readonly steps: number;
  readonly repeat: number;
  /** Mid-drawing VQGAN previews as the app decodes them; false: none (`--previews off`). Absent: on. */
  readonly previews?: boolean;
  readonly versions: Readonly<Record<string, string>>;
  readonly cpu: { readonly model: string; readonly cores: number };
  readonly machine_note?: string;
  /** 1-, 5- and 15-minute load averages when the benchmark started and when it ended. */
  readonly load_average: { readonly start: readonly number[]; readonly end: readonly number[] };
  readonly date: string;
  readonly runs: readonly BenchRun[];
  /**
   * Each round's WASM run (our kernels, the kernel the page chooses) beside native's run of the same images and
   * threads in that round: noise on this kind of machine moves both for minutes at a time, so a ratio taken within a
   * round says more than a ratio of medians. Absent where no round ran both.
   */
  readonly paired_rounds?: readonly PairedRound[];
}

/** One round's web-wasm and node runs of the same image and thread count, measured one after the other. */
export interface PairedRound {
  readonly round: number;
  readonly images: number;
  readonly threads: number;
  readonly web_wasm_step_ms: number;
  readonly node_step_ms: number;
  readonly web_wasm_vqgan_ms_per_image: number | null;
  readonly node_vqgan_ms_per_image: number | null;
}

export const RUN_NUMBER_FIELDS = [
  'encoder_ms',
  'step_ms_first',
  'step_ms_median',
  'step_ms_last',
  'vqgan_ms_per_image',
  'seconds_per_image',
  'first_preview_ms',
  'peak_rss_mb',
  'load_avg_start',
  'load_avg_end',
] as const satisfies readonly (keyof BenchRun)[];

/** Measured only by some runtimes: a median where every repeat has a number, absent where one lacks it. */
export const OPTIONAL_RUN_NUMBER_FIELDS = [
  'decoder_run_ms',
  'wasm_heap_mb',
  'own_kernels_memory_mb',
  'sampled_on_gpu',
] as const satisfies readonly (keyof BenchRun)[];

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Step statistics from per-step durations (at least one). */
export function stepStats(
  steps: readonly number[],
): Pick<BenchRun, 'step_ms_first' | 'step_ms_median' | 'step_ms_last'> {
  const window = Math.min(8, steps.length);
  return {
    step_ms_first: median(steps.slice(0, window)),
    step_ms_median: median(steps),
    step_ms_last: median(steps.slice(steps.length - window)),
  };
}

/** Repeats of one configuration → one run of field-wise medians (a field stays null if any repeat lacked it). */
export function medianRun(repeats: readonly BenchRun[]): BenchRun {
  const first = repeats[0];
  if (!first) throw new Error('medianRun needs at least one run');
  const out: Record<string, unknown> = { ...first };
  for (const field of RUN_NUMBER_FIELDS) {
    const values = repeats.map((run) => run[field]);
    out[field] = values.some((v) => v === null) ? null : median(values as number[]);
  }
  for (const field of OPTIONAL_RUN_NUMBER_FIELDS) {
    const values = repeats.map((run) => run[field]);
    if (values.every((v) => typeof v === 'number')) out[field] = median(values);
    else if (values.some((v) => v === null)) out[field] = null;
    else delete out[field];
  }
  return out as unknown as BenchRun;
}

/**
 * Pairs, round by round, each plain web-wasm run (labelled `web-wasm`: our kernels, the page's kernel choice) with
 * the node run of that round with the same image and thread count.
 */
export function pairRounds(rounds: readonly (readonly BenchRun[])[]): PairedRound[] {
  return rounds.flatMap((runs, r) =>
    runs.flatMap((web) => {
      if (runLabel(web) !== 'web-wasm') return [];
      const native = runs.find((n) => n.runtime === 'node' && n.images === web.images && n.threads === web.threads);
      if (!native) return [];
      return [
        {
          round: r + 1,
          images: web.images,
          threads: web.threads,
          web_wasm_step_ms: web.step_ms_median,
          node_step_ms: native.step_ms_median,
          web_wasm_vqgan_ms_per_image: web.vqgan_ms_per_image,
          node_vqgan_ms_per_image: native.vqgan_ms_per_image,
        },
      ];
    }),
  );
}

const fmt = (v: number | null, digits = 1): string => (v === null ? '–' : v.toFixed(digits));

/** The table printed after a run, then the ratios the issue's targets are stated in. */
export function formatReport(report: BenchReport): string {
  const lines = [
    `model ${report.model_id} (${report.dtype}), ${report.steps} steps${report.previews === false ? ', no VQGAN previews' : ''}, median of ${report.repeat} run(s); ${report.cpu.model}, ${report.cpu.cores} cores`,
  ];
  if (report.machine_note) lines.push(report.machine_note);
  const loads = (values: readonly number[]): string => values.map((v) => v.toFixed(2)).join(' ');
  lines.push(
    `load average (1, 5, 15 min): ${loads(report.load_average.start)} at start, ${loads(report.load_average.end)} at end`,
  );
  const header = [
    'runtime',
    'images',
    'threads',
    'encoder',
    'step 1st',
    'step med',
    'step last',
    'vqgan/img',
    's/img',
    '1st preview',
    'peak MB',
    'load',
  ];
  const rows = report.runs.map((r) => [
    runLabel(r),
    String(r.images),
    String(r.threads),
    fmt(r.encoder_ms),
    fmt(r.step_ms_first),
    fmt(r.step_ms_median),
    fmt(r.step_ms_last),
    fmt(r.vqgan_ms_per_image, 0),
    fmt(r.seconds_per_image, 2),
    fmt(r.first_preview_ms, 0),
    fmt(r.peak_rss_mb, 0),
    `${fmt(r.load_avg_start)}→${fmt(r.load_avg_end)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  for (const row of [header, ...rows]) lines.push(row.map((cell, i) => cell.padStart(widths[i]!)).join('  '));
  const files = [...new Set(report.runs.flatMap((r) => (r.decoder_file ? [`${r.runtime} ${r.decoder_file}`] : [])))];
  if (files.length > 0) lines.push(`decoder graphs: ${files.join(', ')}`);
  for (const r of report.runs.filter((r) => r.wasm_heap_mb !== undefined)) {
    const ort = r.wasm_heap_mb === null ? 'none' : `${fmt(r.wasm_heap_mb!, 0)} MB`;
    const own = r.own_kernels_memory_mb ? `, our kernels' memories ${fmt(r.own_kernels_memory_mb, 0)} MB` : '';
    lines.push(`${runLabel(r)} ${r.images} img: ONNX Runtime's WASM heap ${ort}${own}`);
  }
  for (const r of report.runs.filter((r) => r.gemm_kernel !== undefined))
    lines.push(
      `${runLabel(r)} ${r.images} img: GEMM kernel ${r.gemm_kernel} (${r.gemm_kernel_reason ?? 'no reason given'})`,
    );
  for (const r of report.runs.filter((r) => r.decoder_run_ms !== undefined))
    lines.push(
      `${runLabel(r)} ${r.images} img: ${fmt(r.decoder_run_ms!)} ms of a ${fmt(r.step_ms_median)} ms step inside ` +
        "the decoder's run",
    );
  for (const r of report.runs.filter((r) => r.sampled_on_gpu !== undefined))
    lines.push(
      `${runLabel(r)} ${r.images} img: ${fmt(100 * r.sampled_on_gpu!, 0)} % of steps sampled from GPU candidates`,
    );
  lines.push('', 'ratios (ms from the table above):');
  for (const line of ratioLines(report.runs)) lines.push(`  ${line}`);
  const pairs = report.paired_rounds ?? [];
  if (pairs.length > 0) lines.push('', 'web-wasm / node within each round (median of the rounds):');
  for (const line of pairedLines(pairs)) lines.push(`  ${line}`);
  return lines.join('\n');
}

/**
 * The runtime, `-ort` for a q8 encoder and decoder on ONNX Runtime's WASM rather than our own kernels, and for
 * WebGPU marks for sampling from the whole logits (`--gpu-sampling off`), for a decoder run step by step rather than
 * captured (`--graph-capture off`, or a model whose graph cannot be captured) and for q8 weights dequantized at every
 * step rather than once at load (`--fold-weights off`).
 */
function runLabel(r: BenchRun): string {
  const sampling = r.gpu_sampling === false ? '-cpu-sampling' : '';
  const dequantized = r.folded_weights === false ? '-dequantized' : '';
  const ort = r.own_kernels === false ? '-ort' : '';
  const kernel = r.gemm_kernel_request && r.gemm_kernel_request !== 'fastest' ? `-${r.gemm_kernel_request}` : '';
  return `${r.runtime}${ort}${kernel}${sampling}${r.graph_capture === false ? '-uncaptured' : ''}${dequantized}`;
}

function pairedLines(pairs: readonly PairedRound[]): string[] {
  const groups = new Map<string, PairedRound[]>();
  for (const pair of pairs) {
    const key = `${pair.images} img ${pair.threads} thr`;
    groups.set(key, [...(groups.get(key) ?? []), pair]);
  }
  const ratios = (values: readonly (number | null)[]): string => {
    const known = values.filter((v): v is number => v !== null && Number.isFinite(v));
    if (known.length === 0) return '–';
    return `${known.map((v) => `${v.toFixed(2)}×`).join(' ')} (${median(known).toFixed(2)}×)`;
  };
  return [...groups].map(([key, group]) => {
    const step = ratios(group.map((p) => p.web_wasm_step_ms / p.node_step_ms));
    const vqgan = ratios(
      group.map((p) =>
        p.web_wasm_vqgan_ms_per_image === null || p.node_vqgan_ms_per_image === null
          ? null
          : p.web_wasm_vqgan_ms_per_image / p.node_vqgan_ms_per_image,
      ),
    );
    return `${key}: step ${step}; VQGAN ${vqgan}`;
  });
}

function ratioLines(runs: readonly BenchRun[]): string[] {
  const lines: string[] = [];
  const find = (label: string, images: number, threads: number): BenchRun | undefined =>
    runs.find((r) => runLabel(r) === label && r.images === images && r.threads === threads);
  const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
  for (const r of runs) {
    lines.push(
      `${runLabel(r)} ${r.images} img ${r.threads} thr: step last/first ${ratio(r.step_ms_last, r.step_ms_first)}`,
    );
    const one = find(runLabel(r), 1, r.threads);
    if (one && r.images > 1)
      lines.push(
        `${runLabel(r)} ${r.threads} thr: step ${r.images} img / 1 img ${ratio(r.step_ms_median, one.step_ms_median)}`,
      );
    // Each WebGPU variant against the run that differs from it in that one choice.
    const compare = (what: string, better: BenchRun | undefined) => {
      if (better)
        lines.push(
          `${r.images} img: WebGPU step, ${what} (${runLabel(better)} / ${runLabel(r)}) ` +
            ratio(better.step_ms_median, r.step_ms_median),
        );
    };
    if (r.gpu_sampling === false)
      compare('candidates / whole logits', find(runLabel({ ...r, gpu_sampling: true }), r.images, r.threads));
    if (r.graph_capture === false)
      compare('captured / step by step', find(runLabel({ ...r, graph_capture: true }), r.images, r.threads));
    if (r.folded_weights === false) {
      compare(
        'folded / dequantized, both step by step',
        find(runLabel({ ...r, folded_weights: true }), r.images, r.threads),
      );
      compare(
        'folded and captured / dequantized',
        find(runLabel({ ...r, folded_weights: true, graph_capture: true }), r.images, r.threads),
      );
    }
    const own = r.own_kernels === false ? find(runLabel({ ...r, own_kernels: true }), r.images, r.threads) : undefined;
    if (own)
      lines.push(
        `${r.images} img ${r.threads} thr: WASM step, own kernels / ONNX Runtime ` +
          ratio(own.step_ms_median, r.step_ms_median),
      );
    const dot16 =
      r.gemm_kernel_request === 'relaxed'
        ? find(runLabel({ ...r, gemm_kernel_request: 'dot16' }), r.images, r.threads)
        : undefined;
    if (dot16)
      lines.push(
        `${r.images} img ${r.threads} thr: WASM step, relaxed / dot16 GEMM kernel ` +
          ratio(r.step_ms_median, dot16.step_ms_median),
      );
    const native = r.runtime === 'web-wasm' ? find('node', r.images, r.threads) : undefined;
    if (native) {
      lines.push(
        `${r.images} img ${r.threads} thr: web-wasm / node: step ${ratio(r.step_ms_median, native.step_ms_median)}` +
          (r.vqgan_ms_per_image !== null && native.vqgan_ms_per_image !== null
            ? `, VQGAN ${ratio(r.vqgan_ms_per_image, native.vqgan_ms_per_image)}`
            : ''),
      );
    }
  }
  return lines;
}
