/**
 * ONNX Runtime's per-op profiling trace, from either runtime: onnxruntime-node writes a JSON file under
 * the session's `profileFilePrefix`; the WASM build of onnxruntime-web prints the same trace to stdout.
 */
import fs, { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Session } from '../src/pipeline/runtime.ts';

export interface TraceEvent {
  readonly cat: string;
  readonly name: string;
  /** microseconds */
  readonly dur: number;
  readonly args?: {
    readonly op_name?: string;
    readonly input_type_shape?: readonly Record<string, number[]>[];
    readonly output_type_shape?: readonly Record<string, number[]>[];
  };
}

/** Ends profiling and returns the trace. `profileDir`: a fresh folder that holds the prefix (native only). */
export function endProfiling(session: Session, web: boolean, profileDir: string): TraceEvent[] {
  if (!web) {
    session.endProfiling();
    const file = readdirSync(profileDir).find((name) => name.endsWith('.json'));
    if (!file) throw new Error(`onnxruntime-node wrote no profile under ${profileDir}`);
    return JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as TraceEvent[];
  }
  // The WASM build (threaded emscripten) prints with fs.writeSync(1, …): catch what goes to stdout.
  const printed: string[] = [];
  const writeSync = fs.writeSync;
  fs.writeSync = (fd: number, chunk: string | NodeJS.ArrayBufferView, ...rest: unknown[]) => {
    if (fd !== 1) return (writeSync as (...args: unknown[]) => number)(fd, chunk, ...rest);
    printed.push(
      typeof chunk === 'string' ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString(),
    );
    return 0;
  };
  try {
    session.endProfiling();
  } finally {
    fs.writeSync = writeSync;
  }
  const text = printed.join('');
  return JSON.parse(text.slice(text.indexOf('['), text.lastIndexOf(']') + 1)) as TraceEvent[];
}

/** The kernels' events (one per node run). */
export function kernelEvents(events: readonly TraceEvent[]): TraceEvent[] {
  return events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
}
