/**
 * Seeded fuzzing of the msgpack reader for a fixed 3 s: only CheckpointError or success, bounded
 * work, no stray files.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { fuzzFor } from './helpers/fuzz.ts';
import { createMsgpackTarget } from './fuzz/msgpack-target.ts';

/** Fixed, so every run of the suite replays the same cases (as many as 3 s allow). */
const SEED = 0x5eed_0006;

void test(
  'random and mutated checkpoints give a CheckpointError or a checkpoint, nothing else',
  { timeout: 60_000 },
  () => {
    const before = readdirSync('.').sort();
    const target = createMsgpackTarget();
    try {
      const report = fuzzFor(target, { seconds: 3, seed: SEED, maxCaseMs: 2000 });
      const failure = report.failure;
      assert.equal(
        failure,
        null,
        failure
          ? `case seed ${failure.caseSeed} (npm run fuzz -- --replay ${failure.caseSeed}): ${String(failure.error)}`
          : '',
      );
      assert.ok(report.cases > 50, `only ${report.cases} cases ran`);
    } finally {
      target.dispose();
    }
    assert.deepEqual(readdirSync('.').sort(), before, 'nothing was written to the working directory');
  },
);
