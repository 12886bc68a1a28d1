/**
 * Builds an ONNX model node by node and serializes it. Large initializers stream straight into
 * external-data files through a `WeightSink`, so even mega never holds its weights in memory twice.
 */
import { ProtoWriter } from './protobuf.ts';
import { AttributeType, ELEMENT_BYTES, MS_DOMAIN, ONNX_IR_VERSION, ONNX_OPSET, TensorType } from './onnx-types.ts';
import type { TensorTypeName } from './onnx-types.ts';
import { float32ToFloat16 } from '../../../src/model/half.ts';

export type Dim = number | string;

export type Attr =
  | { readonly i: number }
  | { readonly f: number }
  | { readonly s: string }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] };

/** What a second serialization of the same graph changes (GraphBuilder.serialize). */
export interface GraphVariant {
  readonly omitOutputs?: ReadonlySet<string>;
  readonly inputShapes?: ReadonlyMap<string, readonly Dim[]>;
  /**
   * The graph's `DequantizeLinear` nodes of weights (every input an initializer) lifted out of it: `inputs` takes
   * their float32 results as graph inputs (named by dequantizedName) and leaves the int8 weights out; `graph` is
   * those nodes alone, their results its outputs. A runtime runs the second once and feeds the first its outputs.
   */
  readonly dequantizedWeights?: 'inputs' | 'graph';
}

/** The graph input or output standing for the dequantized weight `initializer` (GraphVariant.dequantizedWeights). */
export function dequantizedName(initializer: string): string {
  return `${initializer}:dequantized`;
}

export interface ValueInfo {
  readonly name: string;
  readonly type: TensorTypeName;
  readonly shape: readonly Dim[];
}

interface NodeRecord {
  readonly op: string;
  readonly domain: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, Attr>>;
}

/** Where an initializer's bytes went: inline in the .onnx file or in an external data file. */
type Placement =
  { readonly inline: Uint8Array } | { readonly location: string; readonly offset: number; readonly length: number };

interface InitializerRecord {
  readonly name: string;
  readonly type: TensorTypeName;
  readonly dims: readonly number[];
  readonly placement: Placement;
}

/** Receives weight bytes and says where they were stored. */
export interface WeightSink {
  write(bytes: Uint8Array): { location: string; offset: number; length: number };
}

/** Initializers at least this large go to external data; small constants stay in the graph. */
const EXTERNAL_THRESHOLD = 1024;

export type TypedData = Float32Array | Uint16Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

function asBytes(data: TypedData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export class GraphBuilder {
  private readonly nodes: NodeRecord[] = [];
  /** Node outputs that become graph outputs, applied when serializing (later nodes may still read the old name). */
  private readonly renames = new Map<string, string>();
  private readonly initializers: InitializerRecord[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly constants = new Map<string, string>();
  private readonly usedNames = new Set<string>();
  private counter = 0;
  private usesMsDomain = false;
  /** Prefix for generated names, so a graph viewer shows which layer a node belongs to. */
  scope = '';

  constructor(
    readonly graphName: string,
    /** null keeps every initializer inside the .onnx file (hub layouts that runtimes read as one file). */
    private readonly sink: WeightSink | null,
  ) {}

  private fresh(base: string): string {
    const name = `${this.scope ? `${this.scope}/` : ''}${base}_${this.counter++}`;
    this.usedNames.add(name);
    return name;
  }

  input(name: string, type: TensorTypeName, shape: readonly Dim[]): string {
    this.inputs.push({ name, type, shape });
    return name;
  }

  /**
   * Declares `value` as a graph output named `name`. The producing node's output is renamed rather
   * than bridged with an Identity: ORT's WebGPU EP has no Identity kernel, so an Identity would run
   * on the CPU and copy the whole KV cache off the GPU every step. Only values that are graph inputs
   * or already outputs get an Identity.
   */
  output(name: string, value: string, type: TensorTypeName, shape: readonly Dim[]): void {
    const produced = this.nodes.some((node) => node.outputs.includes(value));
    if (value !== name && produced && !this.renames.has(value)) {
      this.renames.set(value, name);
    } else if (value !== name) {
      this.nodes.push({
        op: 'Identity',
        domain: '',
        name: this.fresh('Identity'),
        inputs: [value],
        outputs: [name],
        attrs: {},
      });
    }
    this.outputs.push({ name, type, shape });
  }

  op(op: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, domain = ''): string {
    return this.opMulti(op, inputs, 1, attrs, domain)[0]!;
  }

  /**
   * A node with several outputs. `outputs` counts them, or says which are wanted: an unwanted one is written as '',
   * ONNX's absent optional output (so the kernel need not produce it), or left off at the end, and returned as ''.
   */
  opMulti(
    op: string,
    inputs: readonly string[],
    outputs: number | readonly boolean[],
    attrs: Record<string, Attr> = {},
    domain = '',
  ): string[] {
    if (domain === MS_DOMAIN) this.usesMsDomain = true;
    const name = this.fresh(op);
    const wanted = typeof outputs === 'number' ? Array.from({ length: outputs }, () => true) : outputs;
    const names = wanted.map((want, i) => (want ? `${name}:${i}` : ''));
    // Trailing absent outputs are left off: onnxruntime-web's WebGPU kernels count every output the node lists.
    const listed = names.slice(0, wanted.lastIndexOf(true) + 1);
    this.nodes.push({ op, domain, name, inputs, outputs: listed, attrs });
    return names;
  }

  /** A named tensor stored with the model (external when large). */
  initializer(name: string, type: TensorTypeName, dims: readonly number[], data: TypedData): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count * ELEMENT_BYTES[type] !== data.byteLength) {
      throw new Error(
        `initializer ${name}: [${dims.join(', ')}] ${type} needs ${count * ELEMENT_BYTES[type]} bytes, got ${data.byteLength}`,
      );
    }
    if (this.usedNames.has(name)) throw new Error(`initializer name ${name} is used twice`);
    this.usedNames.add(name);
    const bytes = asBytes(data);
    const placement: Placement =
      bytes.length >= EXTERNAL_THRESHOLD && this.sink ? this.sink.write(bytes) : { inline: bytes.slice() };
    this.initializers.push({ name, type, dims, placement });
    return name;
  }

  /** Cast to `to`; graph code names the type, the builder writes its TensorProto enum value. */
  cast(value: string, to: TensorTypeName): string {
    return this.op('Cast', [value], { to: { i: TensorType[to] } });
  }

  /** A small constant, shared by every use of the same value. */
  constant(type: TensorTypeName, dims: readonly number[], values: readonly number[]): string {
    const key = `${type}|${dims.join(',')}|${values.join(',')}`;
    const existing = this.constants.get(key);
    if (existing) return existing;
    let data: TypedData;
    if (type === 'int64') data = BigInt64Array.from(values.map((v) => BigInt(v)));
    else if (type === 'float32') data = Float32Array.from(values);
    else if (type === 'int32') data = Int32Array.from(values);
    else if (type === 'float16') data = float32ToFloat16(Float32Array.from(values));
    else if (type === 'bool' || type === 'uint8') data = Uint8Array.from(values);
    else throw new Error(`constant of type ${type} is not supported`);
    const name = this.initializer(`const_${this.constants.size}`, type, dims, data);
    this.constants.set(key, name);
    return name;
  }

  int64s(values: readonly number[]): string {
    return this.constant('int64', [values.length], values);
  }

  scalar(type: 'float32' | 'float16' | 'int64', value: number): string {
    return this.constant(type, [], [value]);
  }

  /**
   * The model as ONNX bytes. A variant's `omitOutputs` leaves those outputs out together with every
   * node and initializer that only they needed, and its `inputShapes` declare some inputs with other
   * (e.g. symbolic) dimensions: a second graph over the same external data, without the work nobody
   * fetches (ONNX Runtime runs every node of a graph, fetched or not).
   */
  serialize(variant: GraphVariant = {}): Uint8Array {
    const w = new ProtoWriter();
    w.int(1, ONNX_IR_VERSION);
    w.string(2, 'dalle-mini-web exporter');
    w.message(7, (g) => this.writeGraph(g, variant));
    w.message(8, (o) => o.string(1, '').int(2, ONNX_OPSET));
    if (this.usesMsDomain) w.message(8, (o) => o.string(1, MS_DOMAIN).int(2, 1));
    return w.finish();
  }

  private writeGraph(g: ProtoWriter, variant: GraphVariant): void {
    const { nodes, inputs, outputs } = this.plan(variant);
    for (const node of nodes) g.message(1, (n) => writeNode(n, node));
    g.string(2, this.graphName);
    const read = new Set(nodes.flatMap((node) => node.inputs));
    for (const init of this.initializers) if (read.has(init.name)) g.message(5, (t) => writeTensor(t, init));
    for (const input of inputs) g.message(11, (v) => writeValueInfo(v, input));
    for (const output of outputs) g.message(12, (v) => writeValueInfo(v, output));
  }

  /** The nodes, inputs and outputs a variant serializes (GraphBuilder.serialize, GraphVariant). */
  private plan({ omitOutputs = new Set(), inputShapes = new Map(), dequantizedWeights }: GraphVariant): {
    nodes: NodeRecord[];
    inputs: ValueInfo[];
    outputs: ValueInfo[];
  } {
    const rename = (names: readonly string[]): string[] => names.map((n) => this.renames.get(n) ?? n);
    const outputs = this.outputs.filter((output) => !omitOutputs.has(output.name));
    const inputs = this.inputs.map((input) => ({ ...input, shape: inputShapes.get(input.name) ?? input.shape }));
    // Walk back from the kept outputs: nodes are in topological order, so one reverse pass finds all that are needed.
    const needed = new Set(outputs.map((output) => output.name));
    const nodes = this.nodes
      .map((node) => ({ ...node, inputs: rename(node.inputs), outputs: rename(node.outputs) }))
      .reverse()
      .filter((node) => {
        if (!node.outputs.some((name) => needed.has(name))) return false;
        for (const input of node.inputs) needed.add(input);
        return true;
      })
      .reverse();
    if (!dequantizedWeights) return { nodes, inputs, outputs };
    const initializers = new Map(this.initializers.map((init) => [init.name, init]));
    const lifted = new Map<string, ValueInfo>();
    for (const node of nodes) {
      if (node.op !== 'DequantizeLinear' || !node.inputs.every((name) => initializers.has(name))) continue;
      const [weight, scale] = [initializers.get(node.inputs[0]!)!, initializers.get(node.inputs[1]!)!];
      const name = dequantizedName(weight.name);
      if ([...lifted.values()].some((value) => value.name === name)) throw new Error(`${weight.name} is lifted twice`);
      // DequantizeLinear's output has its scale's type.
      lifted.set(node.outputs[0]!, { name, type: scale.type, shape: weight.dims });
    }
    const liftedNodes = nodes
      .filter((node) => lifted.has(node.outputs[0]!))
      .map((node) => ({ ...node, outputs: [lifted.get(node.outputs[0]!)!.name] }));
    if (dequantizedWeights === 'graph') return { nodes: liftedNodes, inputs: [], outputs: [...lifted.values()] };
    const rest = nodes
      .filter((node) => !lifted.has(node.outputs[0]!))
      .map((node) => ({ ...node, inputs: node.inputs.map((name) => lifted.get(name)?.name ?? name) }));
    return { nodes: rest, inputs: [...inputs, ...lifted.values()], outputs };
  }
}

function writeNode(n: ProtoWriter, node: NodeRecord): void {
  for (const input of node.inputs) n.string(1, input);
  for (const output of node.outputs) n.string(2, output);
  n.string(3, node.name);
  n.string(4, node.op);
  for (const [name, attr] of Object.entries(node.attrs)) n.message(5, (a) => writeAttribute(a, name, attr));
  if (node.domain) n.string(7, node.domain);
}

function writeAttribute(a: ProtoWriter, name: string, attr: Attr): void {
  a.string(1, name);
  if ('i' in attr) a.int(3, attr.i).int(20, AttributeType.int);
  else if ('f' in attr) a.float(2, attr.f).int(20, AttributeType.float);
  else if ('s' in attr) a.string(4, attr.s).int(20, AttributeType.string);
  else if ('ints' in attr) a.packedInts(8, attr.ints).int(20, AttributeType.ints);
  else {
    for (const f of attr.floats) a.float(7, f);
    a.int(20, AttributeType.floats);
  }
}

function writeTensor(t: ProtoWriter, init: InitializerRecord): void {
  t.packedInts(1, init.dims);
  t.int(2, TensorType[init.type]);
  t.string(8, init.name);
  const placement = init.placement;
  if ('inline' in placement) {
    t.bytes(9, placement.inline);
    return;
  }
  const entry = (key: string, value: string) => (e: ProtoWriter) => e.string(1, key).string(2, value);
  t.message(13, entry('location', placement.location));
  t.message(13, entry('offset', String(placement.offset)));
  t.message(13, entry('length', String(placement.length)));
  t.int(14, 1);
}

function writeValueInfo(v: ProtoWriter, info: ValueInfo): void {
  v.string(1, info.name);
  v.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, TensorType[info.type]);
      tensor.message(2, (shape) => {
        for (const dim of info.shape) {
          shape.message(1, (d) => (typeof dim === 'number' ? d.int(1, dim) : d.string(2, dim)));
        }
      });
    }),
  );
}
