/** CLI failures: expected errors and system errors print one line. */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  assert.deepEqual(formatCliError(new ConfigError('config.json: bad')), { line: 'error: config.json: bad', stack: null });
  let enoent: unknown;
  try {
    readFileSync(join(dir, 'absent.txt'));
  } catch (error) {
    enoent = error;
  }
  const system = formatCliError(enoent);
  assert.equal(system.stack, null);
  assert.match(system.line, /^error: cannot open .*absent\.txt: no such file or directory \(ENOENT\); check the path$/);
  const bug = formatCliError(new TypeError('x is undefined'));
  assert.equal(bug.line, 'error: x is undefined');
  assert.match(bug.stack ?? '', /TypeError: x is undefined\n\s+at /);
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
  assert.match(oneErrorLine(missing!), /manifest\.json.*Export a model first/);
  assert.match(oneErrorLine(integrity!), /vocab\.json is corrupted: expected \d+ bytes, got 2 bytes/);
  assert.match(oneErrorLine(enoent!), /^error: cannot open .*deleted\/vocab\.json: no such file or directory \(ENOENT\)/);
});
