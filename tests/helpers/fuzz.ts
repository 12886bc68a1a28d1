/**
 * A small seeded fuzzing harness: a PRNG, a byte mutator and a time-budgeted loop. Every case is
 * a pure function of its own seed, so a failure found in a long run replays from that one number.
 * Targets (tests/fuzz/*-target.ts) turn a case seed into an input and check the code under test.
 */

/** splitmix32: small, fast, and independent of the code under test. */
export class FuzzRng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A uniform 32-bit integer. */
  u32(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 2 ** 32) * n);
  }
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** Bytes that tend to matter: edges of integer ranges and, for msgpack, the type tags. */
const INTERESTING = [
  0x00, 0x01, 0x7f, 0x80, 0xff, 0x8f, 0x9f, 0xbf, 0xc0, 0xc3, 0xc4, 0xc6, 0xc9, 0xcb, 0xcf, 0xd3, 0xd9, 0xdb, 0xdd,
  0xdf, 0xe0,
];

export function randomBytes(rng: FuzzRng, maxLength: number): Uint8Array {
  const out = new Uint8Array(rng.int(maxLength + 1));
  for (let i = 0; i < out.length; i++) out[i] = rng.chance(0.5) ? rng.pick(INTERESTING) : rng.int(256);
  return out;
}

export interface MutateOptions {
  /** Offsets worth hitting more often (e.g. structure rather than bulk data); any offset otherwise. */
  readonly hotspots?: readonly number[];
  /** Most edits per case (default 4). */
  readonly maxEdits?: number;
}

/** 1 … maxEdits edits: bit flips, interesting bytes, truncation, inserted or deleted or repeated slices. */
export function mutate(input: Uint8Array, rng: FuzzRng, options: MutateOptions = {}): Uint8Array {
  let bytes: Uint8Array = Uint8Array.from(input);
  const edits = 1 + rng.int(options.maxEdits ?? 4);
  const offset = (length: number): number => {
    const hot = options.hotspots;
    return hot && hot.length > 0 && rng.chance(0.8)
      ? Math.min(rng.pick(hot), Math.max(0, length - 1))
      : rng.int(Math.max(1, length));
  };
  for (let e = 0; e < edits; e++) {
    const at = offset(bytes.length);
    switch (rng.int(6)) {
      case 0:
        if (bytes.length > 0) bytes[at] = bytes[at]! ^ (1 << rng.int(8));
        break;
      case 1:
        if (bytes.length > 0) bytes[at] = rng.pick(INTERESTING);
        break;
      case 2:
        bytes = bytes.slice(0, at);
        break;
      case 3:
        bytes = concat(bytes.subarray(0, at), randomBytes(rng, 8), bytes.subarray(at));
        break;
      case 4:
        bytes = concat(bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + 1 + rng.int(8))));
        break;
      default: {
        const length = 1 + rng.int(16);
        bytes = concat(bytes.subarray(0, at), bytes.subarray(at, at + length), bytes.subarray(at));
      }
    }
  }
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export interface FuzzTarget {
  readonly name: string;
  /** Builds case `caseSeed`'s input and runs the code under test on it; throws on a finding. */
  run(caseSeed: number): void;
  /** Removes the target's temp files. */
  dispose(): void;
}

export interface FuzzReport {
  readonly cases: number;
  readonly failure: { readonly caseSeed: number; readonly error: unknown } | null;
}

export interface FuzzBudget {
  readonly seconds: number;
  /** Case seeds are seed, seed + 1, … (mod 2^32). */
  readonly seed: number;
  /** A case slower than this is a finding: bounded work, not merely eventual termination. */
  readonly maxCaseMs?: number;
}

/** Runs cases until the time is up or one fails. A true hang stops the loop itself, so callers also set a timeout. */
export function fuzzFor(target: FuzzTarget, budget: FuzzBudget): FuzzReport {
  const deadline = performance.now() + budget.seconds * 1000;
  const maxCaseMs = budget.maxCaseMs ?? 2000;
  let cases = 0;
  while (performance.now() < deadline) {
    const caseSeed = (budget.seed + cases) >>> 0;
    const started = performance.now();
    try {
      target.run(caseSeed);
    } catch (error) {
      return { cases: cases + 1, failure: { caseSeed, error } };
    }
    const took = performance.now() - started;
    cases++;
    if (took > maxCaseMs)
      return {
        cases,
        failure: { caseSeed, error: new Error(`case took ${took.toFixed(0)} ms (limit ${maxCaseMs} ms)`) },
      };
  }
  return { cases, failure: null };
}
