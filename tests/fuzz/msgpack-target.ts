/**
 * Fuzz target for the flax msgpack reader: random bytes and mutations of valid checkpoints (a
 * hand-built one with every leaf form, and the tiny preset's two) go through FlaxCheckpoint.open,
 * a read of every tensor and the layout check. Allowed outcomes: success or a CheckpointError.
 * Anything else, a file changed or a file left in the temp folder, is a finding.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { float32ToFloat16 } from '../../src/model/half.ts';
import { elementCount } from '../../tools/exporter/flax-leaf.ts';
import { CheckpointError, FlaxCheckpoint } from '../../tools/exporter/flax-msgpack.ts';
import { dalleBartLayout, vqganLayout } from '../../tools/exporter/layout.ts';
import type { Layout } from '../../tools/exporter/layout.ts';
import { checkLayout } from '../../tools/exporter/params.ts';
import { PRESET_SHAPES } from '../../tools/exporter/presets.ts';
import { writeRandomCheckpoint } from '../../tools/exporter/random-checkpoint.ts';
import { FuzzRng, mutate, randomBytes } from '../helpers/fuzz.ts';
import type { FuzzTarget } from '../helpers/fuzz.ts';
import { float32Array, map, ndarray, str } from '../helpers/msgpack-bytes.ts';

interface Seed {
  readonly bytes: Uint8Array;
  readonly layout: Layout | null;
  /** Offsets outside tensor data: where mutations change structure rather than values. */
  readonly hotspots: readonly number[];
}

/** Every leaf form the reader knows, plus values it must skip, in under 200 bytes. */
function handBuilt(): Uint8Array {
  const half = float32ToFloat16(Float32Array.from([1.5, -2]));
  return Buffer.concat([
    map(6),
    str('params'),
    map(2),
    str('kernel'),
    ndarray([2, 2], 'float32', new Uint8Array(Float32Array.from([1, 2, 3, 4]).buffer)),
    str('half'),
    ndarray([2], 'float16', new Uint8Array(half.buffer)),
    str('brain'),
    ndarray([1], 'bfloat16', new Uint8Array(Uint16Array.from([0x3fc0]).buffer)),
    str('big'),
    map(3),
    str('__msgpack_chunked_array__'),
    Buffer.from([0xc3]),
    str('shape'),
    map(1),
    str('0'),
    Buffer.from([3]),
    str('chunks'),
    map(2),
    str('0'),
    float32Array([1, 2]),
    str('1'),
    float32Array([3]),
    str('step'),
    Buffer.from([0xd4, 3, 0]),
    str('other'),
    Buffer.from([0xd5, 9, 1, 2]),
    str('misc'),
    Buffer.from([0x94, 0xc0, 0xc2, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xa1, 0x78]),
  ]);
}

function hotspotsOf(file: string): number[] {
  const ckpt = FlaxCheckpoint.open(file);
  const size = readFileSync(file).length;
  const data = new Uint8Array(size);
  for (const leaf of ckpt.leaves.values()) for (const s of leaf.segments) data.fill(1, s.offset, s.offset + s.length);
  ckpt.close();
  return Array.from(data.keys()).filter((i) => data[i] === 0);
}

class UnexpectedError extends Error {
  override name = 'UnexpectedError';
}

export function createMsgpackTarget(): FuzzTarget {
  const dir = mkdtempSync(join(tmpdir(), 'fuzz-msgpack-'));
  const corpusDir = join(dir, 'corpus');
  const tiny = writeRandomCheckpoint('tiny', 1, corpusDir);
  const handFile = join(dir, 'hand.msgpack');
  writeFileSync(handFile, handBuilt());
  const handLayout: Layout = new Map([
    ['params/kernel', { shape: [2, 2], role: 'kernel' }],
    ['big', { shape: [3], role: 'bias' }],
  ]);
  const seeds: Seed[] = [
    { bytes: readFileSync(handFile), layout: handLayout, hotspots: hotspotsOf(handFile) },
    ...[
      [join(tiny.dalle, 'flax_model.msgpack'), dalleBartLayout(PRESET_SHAPES.tiny.dalleBart)] as const,
      [join(tiny.vqgan, 'flax_model.msgpack'), vqganLayout(PRESET_SHAPES.tiny.vqgan)] as const,
    ].map(([file, layout]) => ({ bytes: readFileSync(file), layout, hotspots: hotspotsOf(file) })),
  ];
  rmSync(handFile);
  const caseFile = join(dir, 'case.msgpack');
  const expected = readdirSync(dir).concat('case.msgpack').sort();

  return {
    name: 'msgpack',
    run(caseSeed: number): void {
      const rng = new FuzzRng(caseSeed);
      // Mostly the small seed (fast, dense in structure); the real layouts often enough to matter.
      const roll = rng.int(10);
      const seed = roll < 6 ? seeds[0]! : roll < 9 ? rng.pick(seeds.slice(1)) : null;
      const bytes = seed ? mutate(seed.bytes, rng, { hotspots: seed.hotspots }) : randomBytes(rng, 300);
      writeFileSync(caseFile, bytes);
      exercise(caseFile, seed?.layout ?? null);
      if (!readFileSync(caseFile).equals(bytes)) throw new UnexpectedError('the reader changed the file it read');
      const listing = readdirSync(dir).sort();
      if (listing.join('\n') !== expected.join('\n'))
        throw new UnexpectedError(`the temp folder now holds ${listing.join(', ')}`);
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function exercise(file: string, layout: Layout | null): void {
  let ckpt: FlaxCheckpoint;
  try {
    ckpt = FlaxCheckpoint.open(file);
  } catch (error) {
    expectCheckpointError(error);
    return;
  }
  try {
    for (const [path, leaf] of ckpt.leaves) ckpt.readRange(path, 0, elementCount(leaf.shape));
    if (layout) checkLayout(ckpt, layout, 'fuzzed');
  } catch (error) {
    expectCheckpointError(error);
  } finally {
    ckpt.close();
  }
}

function expectCheckpointError(error: unknown): void {
  if (error instanceof CheckpointError) return;
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  throw new UnexpectedError(`expected a CheckpointError, got ${detail}`);
}
