/**
 * Reads an ONNX model's initializers (its weights) without ONNX Runtime: name, type, shape and bytes, inline or in the
 * external-data files the manifest lists. Our own WASM kernels take the q8 decoder's weights from here, the same files
 * ONNX Runtime loads (docs/performance.md#our-own-int8-kernel). Only the protobuf fields initializers use are decoded
 * (and nodes' op types, which tests count); everything else is skipped by wire type.
 */
import { ELEMENT_BYTES, TensorType } from './onnx-types.ts';
import type { TensorTypeName } from './onnx-types.ts';

export interface OnnxInitializer {
  readonly name: string;
  readonly type: TensorTypeName;
  readonly dims: readonly number[];
  /** The tensor's bytes (little-endian, row-major): a view into the model or external-data bytes, not a copy. */
  readonly bytes: Uint8Array;
}

export class OnnxFormatError extends Error {
  override readonly name = 'OnnxFormatError';
}

const TYPE_NAMES = new Map<number, TensorTypeName>(
  Object.entries(TensorType).map(([name, value]) => [value, name as TensorTypeName]),
);

// Field numbers (onnx/onnx.proto).
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const NODE_OP_TYPE = 4;
const TENSOR = { dims: 1, dataType: 2, name: 8, rawData: 9, externalData: 13, dataLocation: 14 } as const;
const LOCATION_EXTERNAL = 1;

/** One protobuf field: its number and either a varint value or a length-delimited slice. */
interface Field {
  readonly field: number;
  readonly value: number;
  readonly bytes: Uint8Array | null;
}

function* fields(buffer: Uint8Array): Generator<Field> {
  let at = 0;
  const varint = (): number => {
    let value = 0;
    for (let scale = 1; ; scale *= 128) {
      if (at >= buffer.length) throw new OnnxFormatError('truncated varint');
      const byte = buffer[at++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      if (scale > 2 ** 56) throw new OnnxFormatError('varint longer than 64 bits');
    }
  };
  while (at < buffer.length) {
    const key = varint();
    const [field, wireType] = [Math.floor(key / 8), key % 8];
    if (wireType === 0) yield { field, value: varint(), bytes: null };
    else if (wireType === 2) {
      const length = varint();
      if (at + length > buffer.length) throw new OnnxFormatError(`field ${field} runs past the end`);
      yield { field, value: length, bytes: buffer.subarray(at, at + length) };
      at += length;
    } else if (wireType === 1 || wireType === 5) at += wireType === 1 ? 8 : 4;
    else throw new OnnxFormatError(`unsupported wire type ${wireType}`);
  }
}

/** The op type of every node of `model`'s main graph, in order (what a runtime dispatches, before its fusions). */
export function nodeOpTypes(model: Uint8Array): string[] {
  const ops: string[] = [];
  for (const graph of fields(model)) {
    if (graph.field !== MODEL_GRAPH || !graph.bytes) continue;
    for (const node of fields(graph.bytes)) {
      if (node.field !== GRAPH_NODE || !node.bytes) continue;
      for (const f of fields(node.bytes)) if (f.field === NODE_OP_TYPE && f.bytes) ops.push(text.decode(f.bytes));
    }
  }
  return ops;
}

/** Varints of a packed (length-delimited) repeated field. */
function packedVarints(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let value = 0;
  let scale = 1;
  for (const byte of bytes) {
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      out.push(value);
      value = 0;
      scale = 1;
    } else scale *= 128;
  }
  return out;
}

const text = new TextDecoder();

function readTensor(bytes: Uint8Array, external: ReadonlyMap<string, Uint8Array>): OnnxInitializer {
  let name = '';
  let dataType = 0;
  const dims: number[] = [];
  let raw: Uint8Array | null = null;
  let externalLocation = false;
  const entries = new Map<string, string>();
  for (const { field, value, bytes: slice } of fields(bytes)) {
    if (field === TENSOR.name && slice) name = text.decode(slice);
    else if (field === TENSOR.dataType) dataType = value;
    else if (field === TENSOR.dims) dims.push(...(slice ? packedVarints(slice) : [value]));
    else if (field === TENSOR.rawData && slice) raw = slice;
    else if (field === TENSOR.dataLocation) externalLocation = value === LOCATION_EXTERNAL;
    else if (field === TENSOR.externalData && slice) {
      const entry = new Map<number, string>();
      for (const f of fields(slice)) if (f.bytes) entry.set(f.field, text.decode(f.bytes));
      entries.set(entry.get(1) ?? '', entry.get(2) ?? '');
    }
  }
  const type = TYPE_NAMES.get(dataType);
  if (!type) throw new OnnxFormatError(`initializer ${name}: element type ${dataType} is not supported`);
  const length = dims.reduce((a, b) => a * b, 1) * ELEMENT_BYTES[type];
  if (externalLocation) {
    const location = entries.get('location') ?? '';
    const file = external.get(location);
    if (!file) throw new OnnxFormatError(`initializer ${name}: external data file "${location}" was not given`);
    const offset = Number(entries.get('offset') ?? 0);
    const stored = Number(entries.get('length') ?? length);
    if (stored !== length || offset + length > file.length)
      throw new OnnxFormatError(`initializer ${name}: ${length} bytes at ${offset} do not fit "${location}"`);
    return { name, type, dims, bytes: file.subarray(offset, offset + length) };
  }
  if (!raw || raw.length !== length)
    throw new OnnxFormatError(`initializer ${name}: expected ${length} bytes of raw data, got ${raw?.length ?? 0}`);
  return { name, type, dims, bytes: raw };
}

/** Every initializer of `model`, by name; `externalData` as ONNX Runtime takes it (path → bytes). */
export function readInitializers(
  model: Uint8Array,
  externalData: readonly { readonly path: string; readonly data: Uint8Array }[] = [],
): Map<string, OnnxInitializer> {
  const external = new Map(externalData.map(({ path, data }) => [path, data]));
  const out = new Map<string, OnnxInitializer>();
  for (const { field, bytes: graph } of fields(model)) {
    if (field !== MODEL_GRAPH || !graph) continue;
    for (const { field: graphField, bytes } of fields(graph)) {
      if (graphField !== GRAPH_INITIALIZER || !bytes) continue;
      const tensor = readTensor(bytes, external);
      out.set(tensor.name, tensor);
    }
  }
  return out;
}

/** A float32 initializer's values (copied: a view into a file need not be 4-byte aligned). */
export function float32Values(tensor: OnnxInitializer): Float32Array {
  if (tensor.type !== 'float32') throw new OnnxFormatError(`initializer ${tensor.name} is ${tensor.type}, not float32`);
  return new Float32Array(new Uint8Array(tensor.bytes).buffer);
}

/** An int8 initializer's values: a view of the file's bytes (one byte each needs no alignment), not a copy. */
export function int8Values(tensor: OnnxInitializer): Int8Array {
  if (tensor.type !== 'int8') throw new OnnxFormatError(`initializer ${tensor.name} is ${tensor.type}, not int8`);
  return new Int8Array(tensor.bytes.buffer, tensor.bytes.byteOffset, tensor.bytes.length);
}
