import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CHUNKS_PER_THREAD,
  chunkCount,
  chunkUnits,
  claimChunk,
  CONTROL_WORDS,
  GemmThreads,
  rangedArgs,
  shareKernels,
  startGemmHelpers,
} from '../src/kernels/gemm-threads.ts';
import { KernelArena } from '../src/kernels/kernel-arena.ts';
import { KernelModule } from '../src/kernels/kernel-module.ts';
import { FunctionBody, encodeModule } from '../src/kernels/wasm-binary.ts';
import { spawnNodeGemmHelper } from '../tools/node/gemm-helper.ts';

/** count(at, from, to): adds 1 to each int32 lane of units [from, to), 16 bytes each, from byte `at`. */
function countKernel(): FunctionBody {
  const f = new FunctionBody(['at', 'from', 'to']);
  f.local('i', 'i32');
  f.local('p', 'i32');
  f.forRange(
    'i',
    'to',
    1,
    () => {
      f.get('at').get('i').i32(4).op('shl').op('add').set('p');
      f.get('p').get('p').simd('v128.load', 0).i32x4(1).simd('i32x4.add').simd('v128.store', 0);
    },
    'from',
  );
  return f;
}

/** The `count` module over a shared memory, its control block and `units` counters placed. */
function countSetup(units: number) {
  const arena = new KernelArena(true);
  const controlAt = arena.alloc(4 * CONTROL_WORDS);
  const countsAt = arena.alloc(16 * units);
  const module = new WebAssembly.Module(encodeModule({ count: countKernel() }, { shared: true }));
  const instance = new WebAssembly.Instance(module, { env: { memory: arena.memory } });
  const counts = () => Array.from(new Int32Array(arena.memory.buffer, countsAt, 4 * units));
  return { arena, controlAt, countsAt, module, shares: shareKernels(module, instance), counts };
}

void test('chunks cover every unit once, in order, never more chunks than units', () => {
  for (const units of [0, 1, 2, 3, 7, 128, 384, 100_000]) {
    for (const threads of [1, 2, 3, 8, 300]) {
      const chunks = chunkCount(units, threads);
      assert.ok(chunks <= units && chunks <= threads * CHUNKS_PER_THREAD && chunks < 1024, `${units} ${threads}`);
      if (units > 0) assert.ok(chunks >= 1);
      let next = 0;
      for (let c = 0; c < chunks; c++) {
        const [from, to] = chunkUnits(units, chunks, c);
        assert.equal(from, next);
        assert.ok(to > from, 'no empty chunk');
        next = to;
      }
      assert.equal(next, units);
    }
  }
});

void test('claimChunk hands out each chunk of the posted call once, and none of another call', () => {
  const control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS));
  const post = (generation: number) => {
    control[0] = generation; // GENERATION
    control[5] = (generation & 0x1fffff) << 10; // NEXT: the call's tag, chunk 0
  };
  post(5);
  assert.deepEqual(
    [0, 1, 2, 3].map(() => claimChunk(control, 5, 3)),
    [0, 1, 2, -1],
  );
  // A thread still holding the call before takes nothing, however many chunks it read.
  post(6);
  assert.equal(claimChunk(control, 5, 1000), -1);
  assert.equal(claimChunk(control, 6, 2), 0);
  // 2^21 calls later the tag comes round again: the generation itself, checked before the swap, still refuses.
  post(5 + 2 ** 21);
  assert.equal(claimChunk(control, 5, 1000), -1);
  assert.equal(claimChunk(control, 5 + 2 ** 21, 3), 0);
});

void test('a call never waits for a helper that has not started: the caller takes every chunk itself', () => {
  const units = 37;
  const { arena, controlAt, countsAt, shares, counts } = countSetup(units);
  // Three threads, but no helper was ever started: each call must still end, every unit counted once.
  const threads = new GemmThreads(arena.memory, shares, controlAt, 3);
  // Across the Int32 generation's wrap-around (and so the tag's).
  new Int32Array(arena.memory.buffer, controlAt, 1)[0] = 2 ** 31 - 2;
  for (let call = 1; call <= 4; call++) {
    assert.equal(threads.run('ranged', rangedArgs(0, units, 1, [countsAt])), chunkCount(units, 3));
    assert.deepEqual(counts(), new Array<number>(4 * units).fill(call));
  }
  assert.throws(() => threads.run('ranged', rangedArgs(0, 2.5, 1, [countsAt])), /a call of 2.5 units/);
});

void test('helpers and the caller share calls chunk by chunk: every unit counted once, helpers computing some', async () => {
  for (const threadCount of [2, 3]) {
    // Calls alternate between two regions and sizes, so a thread computing with another call's words would show.
    const sizes = [1000, 40_000];
    const { arena, controlAt, countsAt, module, shares, counts } = countSetup(sizes[0]! + sizes[1]!);
    const regions = [countsAt, countsAt + 16 * sizes[0]!];
    const init = { module, memory: arena.memory, controlAt, threads: threadCount };
    const helpers = await startGemmHelpers(spawnNodeGemmHelper, init);
    const threads = new GemmThreads(arena.memory, shares, controlAt, threadCount);
    try {
      let byCaller = 0;
      let all = 0;
      // Rounds of 60 calls until a helper has computed a chunk: on a loaded machine (the unit tests run two
      // files at once) the helpers may not be scheduled before the caller has taken a whole round itself.
      let rounds = 0;
      while (byCaller === all && rounds < 100) {
        for (let call = 0; call < 60; call++) {
          const units = sizes[call % 2]!;
          byCaller += threads.run('ranged', rangedArgs(0, units, 1, [regions[call % 2]!]));
          all += chunkCount(units, threadCount);
        }
        rounds++;
        const want = new Array<number>(4 * (sizes[0]! + sizes[1]!)).fill(30 * rounds);
        assert.deepEqual(counts(), want, `${threadCount} threads`);
      }
      assert.ok(byCaller < all, `the helpers computed none of ${all} chunks`);
    } finally {
      threads.stop();
      await Promise.all(helpers.map((helper) => helper.stop()));
    }
  }
});

void test('KernelModule runs a ranged kernel on its threads as on one', async () => {
  const module = new KernelModule();
  module.add('count', countKernel);
  const arena = new KernelArena(true);
  const controlAt = arena.alloc(4 * CONTROL_WORDS);
  const countsAt = arena.alloc(16 * 300);
  module.build(arena.memory);
  await module.startThreads(2, spawnNodeGemmHelper, controlAt);
  try {
    for (let call = 0; call < 20; call++) module.run('count', 300, 1, [countsAt]);
    assert.deepEqual(Array.from(new Int32Array(arena.memory.buffer, countsAt, 1200)), new Array<number>(1200).fill(20));
  } finally {
    await module.release();
  }
});
