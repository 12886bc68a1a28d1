/**
 * Module hooks (registered by webgpu-preload.ts): the bare specifier `onnxruntime-web` resolves to the package's `all`
 * bundle, whose WebGPU backend (JSEP) is the one the page's default entry runs. In Node the package's main entry is a
 * WASM-only build, and the app's WebGPU modules (src/worker/gpu-*.ts) must share one ONNX Runtime (its
 * `env.webgpu.device`, its Tensor) with the sessions. Not `onnxruntime-web/webgpu`: that bundle is the newer native
 * WebGPU backend, a different one from the page's (and its graph capture failed on Dawn's Node bindings).
 */
interface ResolveContext {
  readonly conditions: readonly string[];
  readonly parentURL?: string;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<unknown>;

export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<unknown> {
  return nextResolve(specifier === 'onnxruntime-web' ? 'onnxruntime-web/all' : specifier, context);
}
