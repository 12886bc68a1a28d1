/**
 * A minimal WebAssembly binary writer: enough to build our kernels at run time from TypeScript (one module, functions
 * over an imported memory), so the page, the worker, the Node CLI and the tests share one source with no build step
 * and no assembler dependency. Instructions are written in stack order through small helpers; opcodes from the
 * WebAssembly 2.0 core specification (the SIMD ones under the 0xfd prefix).
 */

export type ValueType = 'i32' | 'v128';
const VALUE_TYPE: Record<ValueType, number> = { i32: 0x7f, v128: 0x7b };

/** SIMD opcodes (after the 0xfd prefix) the kernels use. */
export const SIMD = {
  'v128.load': 0x00,
  'v128.load8x8_s': 0x01,
  'v128.load16x4_s': 0x03,
  'v128.load32_splat': 0x09,
  'v128.load64_splat': 0x0a,
  'v128.store': 0x0b,
  'v128.const': 0x0c,
  'i8x16.shuffle': 0x0d,
  'i32x4.splat': 0x11,
  'i32x4.lt_s': 0x39,
  'f32x4.eq': 0x41,
  'v128.and': 0x4e,
  'v128.or': 0x50,
  'v128.bitselect': 0x52,
  'v128.store32_lane': 0x5a,
  'v128.store64_lane': 0x5b,
  'i8x16.narrow_i16x8_u': 0x66,
  'f32x4.nearest': 0x6a,
  'i16x8.extadd_pairwise_i8x16_s': 0x7c,
  'i32x4.extadd_pairwise_i16x8_s': 0x7e,
  'i16x8.narrow_i32x4_s': 0x85,
  'i16x8.extend_low_i8x16_s': 0x87,
  'i16x8.extend_high_i8x16_s': 0x88,
  'i16x8.shr_u': 0x8d,
  'i16x8.add': 0x8e,
  'i32x4.shl': 0xab,
  'i32x4.add': 0xae,
  'i32x4.sub': 0xb1,
  'i32x4.dot_i16x8_s': 0xba,
  'f32x4.abs': 0xe0,
  'f32x4.sqrt': 0xe3,
  'f32x4.add': 0xe4,
  'f32x4.sub': 0xe5,
  'f32x4.mul': 0xe6,
  'f32x4.div': 0xe7,
  'f32x4.min': 0xe8,
  'f32x4.max': 0xe9,
  'i32x4.trunc_sat_f32x4_s': 0xf8,
  'f32x4.convert_i32x4_s': 0xfa,
  /** Relaxed SIMD: a · b + c, fused or not (the engine's choice: FMA where the CPU has it). */
  'f32x4.relaxed_madd': 0x105,
  /** Relaxed SIMD: 16 products of int8 × 7-bit, summed by 4 into int32 lanes, plus an accumulator. */
  'i32x4.relaxed_dot_i8x16_i7x16_add_s': 0x113,
} as const;

function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function signedLeb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8(s: string): number[] {
  const bytes = new TextEncoder().encode(s);
  return [...unsignedLeb(bytes.length), ...bytes];
}
const vector = (items: number[][]): number[] => [...unsignedLeb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...unsignedLeb(body.length), ...body];

/** The body of one function: its locals and its instructions, appended in order. */
export class FunctionBody {
  readonly code: number[] = [];
  private readonly localTypes: ValueType[] = [];
  private readonly names = new Map<string, number>();

  constructor(readonly params: readonly string[]) {
    params.forEach((name, i) => this.names.set(name, i));
  }

  /** Declares a local (the parameters are i32 and come first); returns its name for chaining. */
  local(name: string, type: ValueType): string {
    if (this.names.has(name)) throw new Error(`local ${name} declared twice`);
    this.names.set(name, this.params.length + this.localTypes.length);
    this.localTypes.push(type);
    return name;
  }

  private index(name: string): number {
    const i = this.names.get(name);
    if (i === undefined) throw new Error(`unknown local ${name}`);
    return i;
  }

  get(name: string): this {
    this.code.push(0x20, ...unsignedLeb(this.index(name)));
    return this;
  }
  set(name: string): this {
    this.code.push(0x21, ...unsignedLeb(this.index(name)));
    return this;
  }
  i32(value: number): this {
    this.code.push(0x41, ...signedLeb(value | 0));
    return this;
  }
  /** An i32 instruction with no immediate: add, sub, mul, and, shl, shr_u, lt_u, gt_u, ge_u, select. */
  op(name: 'add' | 'sub' | 'mul' | 'and' | 'shl' | 'shr_u' | 'lt_u' | 'gt_u' | 'ge_u' | 'select'): this {
    const opcodes = {
      ...{ add: 0x6a, sub: 0x6b, mul: 0x6c, and: 0x71, shl: 0x74, shr_u: 0x76 },
      ...{ lt_u: 0x49, gt_u: 0x4b, ge_u: 0x4f, select: 0x1b },
    };
    this.code.push(opcodes[name]);
    return this;
  }
  /** A SIMD instruction; memory ones take a byte offset (alignment hint 0: the kernels' data is not aligned). */
  simd(name: keyof typeof SIMD, offset?: number): this {
    this.code.push(0xfd, ...unsignedLeb(SIMD[name]));
    if (offset !== undefined) this.code.push(0, ...unsignedLeb(offset));
    return this;
  }
  /** A store of one lane (`v128.store32_lane`, `v128.store64_lane`) at a byte offset. */
  storeLane(name: 'v128.store32_lane' | 'v128.store64_lane', offset: number, lane: number): this {
    this.simd(name, offset).code.push(lane);
    return this;
  }
  /** A v128 constant of four equal float32s. */
  f32x4(value: number): this {
    return this.bytes16('v128.const', [...new Uint8Array(new Float32Array([value, value, value, value]).buffer)]);
  }
  /** A v128 constant of four equal int32s. */
  i32x4(value: number): this {
    return this.bytes16('v128.const', [...new Uint8Array(new Int32Array([value, value, value, value]).buffer)]);
  }
  /** v128.const or i8x16.shuffle's 16 immediate bytes. */
  bytes16(name: 'v128.const' | 'i8x16.shuffle', bytes: readonly number[]): this {
    if (bytes.length !== 16) throw new Error(`${name} takes 16 bytes`);
    this.simd(name).code.push(...bytes);
    return this;
  }
  /** `block { loop { br_if exit (cond); body; br loop } }`: `condition` pushes the exit test. */
  whileNot(condition: () => void, body: () => void): this {
    this.code.push(0x02, 0x40, 0x03, 0x40);
    condition();
    this.code.push(0x0d, 1);
    body();
    this.code.push(0x0c, 0, 0x0b, 0x0b);
    return this;
  }
  /** `for (name = from; name < end; name += step) body()`, unsigned; `from` and `end` constants or locals' names. */
  forRange(name: string, end: number | string, step: number, body: () => void, from: number | string = 0): this {
    if (typeof from === 'number') this.i32(from);
    else this.get(from);
    this.set(name);
    return this.whileNot(
      () => {
        this.get(name);
        if (typeof end === 'number') this.i32(end);
        else this.get(end);
        this.op('ge_u');
      },
      () => {
        body();
        this.get(name).i32(step).op('add').set(name);
      },
    );
  }
  /** `if (top of stack) { then }`. */
  ifThen(then: () => void): this {
    this.code.push(0x04, 0x40);
    then();
    this.code.push(0x0b);
    return this;
  }

  encode(): number[] {
    const groups: number[][] = this.localTypes.map((t) => [1, VALUE_TYPE[t]]);
    const body = [...vector(groups), ...this.code, 0x0b];
    return [...unsignedLeb(body.length), ...body];
  }
}

/**
 * A module importing `env.memory` (shared when asked: the threads of a later pool can run the same code) and exporting
 * `functions`, each taking i32 parameters only and returning nothing.
 */
export function encodeModule(
  functions: Record<string, FunctionBody>,
  memory: { shared: boolean },
): Uint8Array<ArrayBuffer> {
  const bodies = Object.values(functions);
  const types = bodies.map((f) => [0x60, ...vector(f.params.map(() => [VALUE_TYPE.i32])), 0]);
  const limits = memory.shared ? [0x03, 1, ...unsignedLeb(65536)] : [0x00, 1];
  const imports = vector([[...utf8('env'), ...utf8('memory'), 0x02, ...limits]]);
  const exports = vector(Object.keys(functions).map((name, i) => [...utf8(name), 0x00, ...unsignedLeb(i)]));
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    ...section(2, imports),
    ...section(3, vector(bodies.map((_, i) => unsignedLeb(i)))),
    ...section(7, exports),
    ...section(10, vector(bodies.map((f) => f.encode()))),
  ]);
}
