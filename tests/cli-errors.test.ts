/** CLI failures: expected errors and system errors print one line; flags are checked before any model loads. */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError } from '../src/model/config.ts';
import { formatCliError } from '../tools/cli-errors.ts';
import { oneErrorLine, runTool } from './helpers/cli.ts';
import { tinyModel } from './helpers/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-errors-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const missingModel = join(dir, 'no-such-model');

void test('formatCliError: expected and system errors are one line, bugs keep their stack', () => {
  assert.deepEqual(formatCliError(new ConfigError('config.json: bad')), {
    line: 'error: config.json: bad',
    stack: undefined,
  });
  let enoent: unknown;
  try {
    readFileSync(join(dir, 'absent.txt'));
  } catch (error) {
    enoent = error;
  }
  const system = formatCliError(enoent);
  assert.equal(system.stack, undefined);
  assert.match(system.line, /^error: cannot open .*absent\.txt: no such file or directory \(ENOENT\); check the path$/);
  const bug = formatCliError(new TypeError('x is undefined'));
  assert.equal(bug.line, 'error: x is undefined');
  assert.match(bug.stack ?? '', /TypeError: x is undefined\n\s+at /);
});

void test('generate refuses sampling flags and seeds before loading the model, in one line', async () => {
  const cases: [string[], RegExp][] = [
    [['--top-p', '0'], /top-p must be in \(0, 1\]/],
    [['--temperature', '0'], /temperature must be > 0/],
    [['--condition-scale', '-3'], /condition scale must be a number ≥ 0/],
    [['--top-k', '1e3'], /--top-k must be a whole number ≥ 0, got "1e3"/],
    [
      ['--seed', '9007199254740993'],
      /--seed: seed must be a whole number from 0 to 4294967295, got "9007199254740993"/,
    ],
    [['--seed', '4294967296'], /--seed: seed must be a whole number from 0 to 4294967295/],
    // An unquoted prompt: "a" would be drawn and "red fox" dropped.
    [['--prompt', 'a', 'red', 'fox'], /unexpected "red": a value of several words needs quotes/],
    [['--prompt', '-- a cat'], /--prompt needs a value \(one that starts with "--" is written --prompt=…\)/],
  ];
  const results = await Promise.all(
    cases.map(([flags]) =>
      runTool('generate', ['--model', missingModel, '--prompt', 'a cat', '--out', join(dir, 'o'), ...flags]),
    ),
  );
  results.forEach((result, i) => assert.match(oneErrorLine(result), cases[i]![1]));
});

void test('a CLIP export refuses the flags only DALL·E exports use, rather than ignore them', async () => {
  const out = join(dir, 'clip');
  for (const flags of [
    ['--catalog', join(dir, 'c.json')],
    ['--shard-mb', '8'],
    ['--dalle', dir],
  ]) {
    const result = await runTool('export', ['--random', 'clip-tiny', '--seed', '1', '--out', out, ...flags]);
    assert.match(oneErrorLine(result), new RegExp(`${flags[0]} does not apply to a CLIP export`));
  }
});

void test('a flag its source does not read is refused rather than ignored; --report is on or off; hub names stay names', async () => {
  const out = join(dir, 'never');
  const cases: [string[], RegExp][] = [
    [['--random', 'tiny', '--revision', 'v2'], /--revision applies only with --from-hub/],
    [['--dalle', dir, '--vqgan', dir, '--seed', '3'], /--seed applies only with --random/],
    [['--random', 'clip-tiny', '--logit-scale', '1.5'], /--logit-scale applies only with --clip/],
    [['--random', 'tiny', '--catalog-url', 'https://x.example/m/'], /--catalog-url applies only with --catalog/],
    [['--random', 'tiny', '--dtype', 'q8', '--report', 'false'], /--report must be on or off, got "false"/],
    // A revision or repo is one folder name in the cache, never a path out of it.
    [['--from-hub', 'a/b', '--revision', '../../escaped'], /--revision "..\/..\/escaped" is not a hub name/],
    [['--from-hub', '../b'], /--from-hub "..\/b" is not a hub name/],
  ];
  const results = await Promise.all(cases.map(([flags]) => runTool('export', [...flags, '--out', out])));
  results.forEach((result, i) => assert.match(oneErrorLine(result), cases[i]![1]));
  assert.equal(existsSync(out), false);
});

void test('a missing model, a corrupted file and a deleted file are one line each', async () => {
  const corrupted = join(dir, 'corrupted');
  const deleted = join(dir, 'deleted');
  cpSync(tinyModel('fp32'), corrupted, { recursive: true });
  cpSync(tinyModel('fp32'), deleted, { recursive: true });
  writeFileSync(join(corrupted, 'vocab.json'), '{}');
  rmSync(join(deleted, 'vocab.json'));
  const [missing, integrity, enoent] = await Promise.all(
    [missingModel, corrupted, deleted].map((model) => runTool('tokenize', ['--model', model, 'a cat'])),
  );
  assert.match(oneErrorLine(missing!), /model folder .*no-such-model.*Export a model first/);
  assert.match(
    oneErrorLine(integrity!),
    /vocab\.json is corrupted: expected \d+ bytes, got 2 bytes; it was not used\. Copy the model folder again/,
  );
  assert.match(oneErrorLine(enoent!), /^error: .*deleted\/vocab\.json is not available: there is no such file/);
});
