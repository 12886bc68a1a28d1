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

void test('claimChunk hands out each chunk of the tagged call once, and none of another call', () => {
  const control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS));
  const tag = 5 << 10;
  control[5] = tag; // NEXT: this call's tag, chunk 0
  assert.deepEqual(
    [0, 1, 2, 3].map(() => claimChunk(control, tag, 3)),
    [0, 1, 2, -1],
  );
  // A thread still holding the call before (its tag) takes nothing, however many chunks it read.
  control[5] = 6 << 10;
  assert.equal(claimChunk(control, tag, 1000), -1);
  assert.equal(claimChunk(control, 6 << 10, 2), 0);
});

void test('a call never waits for a helper that has not started: the caller takes every chunk itself', () => {
  const units = 37;
  const { arena, controlAt, countsAt, shares, counts } = countSetup(units);
  // Three threads, but no helper was ever started: each call must still end, every unit counted once.
  const threads = new GemmThreads(arena.memory, shares, controlAt, 3);
  for (let call = 1; call <= 3; call++) {
    threads.run('ranged', rangedArgs(0, units, 1, [countsAt]));
    assert.deepEqual(counts(), new Array<number>(4 * units).fill(call));
  }
});

void test('helpers and the caller share a call chunk by chunk: every unit counted once per call', async () => {
  for (const threadCount of [2, 3]) {
    for (const units of [1, 2, 5, 64, 1000]) {
      const { arena, controlAt, countsAt, module, shares, counts } = countSetup(units);
      const init = { module, memory: arena.memory, controlAt, threads: threadCount };
      const helpers = await startGemmHelpers(spawnNodeGemmHelper, init);
      try {
        const threads = new GemmThreads(arena.memory, shares, controlAt, threadCount);
        for (let call = 1; call <= 50; call++) threads.run('ranged', rangedArgs(0, units, 1, [countsAt]));
        assert.deepEqual(counts(), new Array<number>(4 * units).fill(50), `${threadCount} threads, ${units} units`);
      } finally {
        new GemmThreads(arena.memory, shares, controlAt, threadCount).stop();
        await Promise.all(helpers.map((helper) => helper.stop()));
      }
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
