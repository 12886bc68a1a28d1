/**
 * The VQGAN decoder's weights as our float kernels take them, read from a VQGAN graph's ONNX initializers (the files
 * ONNX Runtime loads; the exporter's names, tools/exporter/graphs/vqgan.ts): convolution kernels [out, in, k, k] and
 * biases, GroupNorm scales and biases, the codebook [codes, dims]; float32, float16 and q8 (int8 with a float32 scale
 * per output channel, or per code) all come out float32.
 */
import { float16ToFloat32 } from '../model/half.ts';
import { float32Values, int8Values, OnnxFormatError } from '../model/onnx-initializers.ts';
import type { OnnxInitializer } from '../model/onnx-initializers.ts';

export interface ConvTensors {
  /** [outputs, channels, size, size] */
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
  readonly channels: number;
  readonly outputs: number;
  /** The kernel's side: 1 or 3. */
  readonly size: number;
}

export interface NormTensors {
  readonly scale: Float32Array;
  readonly bias: Float32Array;
}

export interface VqganTensors {
  conv(path: string): ConvTensors;
  norm(path: string): NormTensors;
  /** [codes, dims] */
  codebook(): Float32Array;
}

const CODEBOOK = 'quantize/embedding/embedding';

/** A weight stored by the exporter's convWeight: float32, float16, or `.q8` with `.scales` along dim 0. */
function weight(initializers: ReadonlyMap<string, OnnxInitializer>, name: string): Float32Array {
  const plain = initializers.get(name);
  if (plain?.type === 'float32') return float32Values(plain);
  if (plain?.type === 'float16') {
    const halves = new Uint16Array(new Uint8Array(plain.bytes).buffer);
    return float16ToFloat32(halves);
  }
  const q = initializers.get(`${name}.q8`);
  const scales = initializers.get(`${name}.scales`);
  if (!q || !scales) throw new OnnxFormatError(`the VQGAN graph has no weight ${name}`);
  const ints = int8Values(q);
  const perRow = float32Values(scales);
  const width = ints.length / perRow.length;
  const values = new Float32Array(ints.length);
  for (let row = 0; row < perRow.length; row++)
    for (let i = row * width; i < (row + 1) * width; i++) values[i] = ints[i]! * perRow[row]!;
  return values;
}

function float32(initializers: ReadonlyMap<string, OnnxInitializer>, name: string): Float32Array {
  const tensor = initializers.get(name);
  if (!tensor) throw new OnnxFormatError(`the VQGAN graph has no initializer ${name}`);
  return float32Values(tensor);
}

export function vqganTensorsFromOnnx(initializers: ReadonlyMap<string, OnnxInitializer>): VqganTensors {
  const convShape = (path: string): Pick<ConvTensors, 'channels' | 'outputs' | 'size'> => {
    const dims = (initializers.get(path) ?? initializers.get(`${path}.q8`))?.dims;
    if (!dims) throw new OnnxFormatError(`the VQGAN graph has no weight ${path}`);
    const [outputs, channels, size] = dims;
    if (dims.length !== 4 || size !== dims[3])
      throw new OnnxFormatError(`${path}: [${dims.join(', ')}] is no conv kernel`);
    return { channels: channels!, outputs: outputs!, size: size! };
  };
  return {
    conv: (path) => ({
      ...convShape(path),
      kernel: weight(initializers, path),
      bias: float32(initializers, `${path}/bias`),
    }),
    norm: (path) => ({ scale: float32(initializers, `${path}/scale`), bias: float32(initializers, `${path}/bias`) }),
    codebook: () => weight(initializers, CODEBOOK),
  };
}
