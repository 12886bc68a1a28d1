/** Output folders: checked and made before any work, level by level, never on a pseudo-filesystem. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ensureOutputDir, ensureOutputParent, OutputPathError } from '../tools/node/output-dir.ts';
import { oneErrorLine, runTool } from './helpers/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'output-dir-'));
after(() => rmSync(root, { recursive: true, force: true }));

const refusal =
  (message: RegExp) =>
  (error: unknown): boolean =>
    error instanceof OutputPathError && message.test(error.message);

void test('missing folders are made level by level; a file in the way is named', () => {
  assert.equal(ensureOutputDir(join(root, 'a', 'b', 'c')), join(root, 'a', 'b', 'c'));
  assert.ok(existsSync(join(root, 'a', 'b', 'c')));
  writeFileSync(join(root, 'file'), '');
  assert.throws(() => ensureOutputDir(join(root, 'file')), refusal(/--out .*file: .*file is a file, not a folder/));
  assert.throws(
    () => ensureOutputDir(join(root, 'file', 'x', 'y')),
    refusal(/--out .*file\/x\/y: .*file is a file, not a folder/),
  );
  assert.throws(() => ensureOutputParent(join(root, 'file')), refusal(/--out .*file is a file, not a folder/));
  assert.equal(ensureOutputParent(join(root, 'p', 'model')), join(root, 'p', 'model'));
  assert.ok(
    existsSync(join(root, 'p')) && !existsSync(join(root, 'p', 'model')),
    'the parent is made, the output itself is not',
  );
});

void test(
  '/proc and /sys are refused at once instead of spinning',
  { skip: process.platform !== 'linux', timeout: 10_000 },
  () => {
    assert.throws(
      () => ensureOutputDir('/proc/no-such/out'),
      refusal(/--out \/proc\/no-such\/out is on the proc pseudo-filesystem/),
    );
    assert.throws(
      () => ensureOutputDir('/sys/kernel/x/y', '--cache-dir'),
      refusal(/--cache-dir .* is on the sysfs pseudo-filesystem/),
    );
  },
);

void test('generate checks and makes --out before loading the model', { timeout: 20_000 }, async () => {
  const missingModel = join(root, 'no-model');
  const [proc, made] = await Promise.all([
    runTool('generate', [
      '--model',
      missingModel,
      '--prompt',
      'a cat',
      '--out',
      process.platform === 'linux' ? '/proc/x/y' : join(root, 'file', 'y'),
    ]),
    runTool('generate', ['--model', missingModel, '--prompt', 'a cat', '--out', join(root, 'images', 'today')]),
  ]);
  assert.match(oneErrorLine(proc), /--out .* (is on the proc pseudo-filesystem|is a file, not a folder)/);
  // A good --out exists even though the missing model stopped the run.
  assert.match(oneErrorLine(made), /model folder .*no-model.*Export a model first/);
  assert.ok(existsSync(join(root, 'images', 'today')));
});
