/** The page's seed field: parsed exactly, refused with a clear message when it cannot be. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeedError } from '../src/core/seed.ts';
import { MAX_SEED, parseSeedText, seedTextProblem } from '../src/ui/seed-text.ts';

void test('digits that a number holds exactly are the seed; leading zeros and surrounding spaces are fine', () => {
  const cases: [string, number][] = [
    ['0', 0],
    ['42', 42],
    [' 7 ', 7],
    ['0007', 7],
    ['000', 0],
    ['4294967295', MAX_SEED],
    ['00004294967295', MAX_SEED],
  ];
  for (const [text, seed] of cases) assert.equal(parseSeedText(text), seed, text);
});

void test('seeds above 2^32 − 1 (the sampler’s seed space) are refused instead of silently rounded or folded', () => {
  for (const text of ['4294967296', '9007199254740992', '9007199254740993', '18446744073709551616', '1'.repeat(400)]) {
    assert.throws(
      () => parseSeedText(text),
      (e: unknown) => e instanceof SeedError && /is too large: use a whole number from 0 to 4294967295/.test(e.message),
      text.slice(0, 30),
    );
  }
  // The message quotes what was typed, not the rounded number.
  assert.match(seedTextProblem('9007199254740993') ?? '', /The seed 9007199254740993 is/);
});

void test('anything but digits is refused, naming the rule', () => {
  for (const text of ['-1', '1.5', '1e3', '0x10', '12abc', '١٢', 'Infinity', '+5']) {
    assert.throws(
      () => parseSeedText(text),
      (e: unknown) => e instanceof SeedError && /is not a whole number: use only the digits 0–9/.test(e.message),
      text,
    );
  }
  assert.match(seedTextProblem('  ') ?? '', /Type a seed/);
  assert.equal(seedTextProblem('123'), null);
});
