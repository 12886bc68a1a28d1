/**
 * What export --out may replace: never a file, the inputs or the working directory; other folders
 * only with --force.
 */
import assert from 'node:assert/strict';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportModel } from '../tools/exporter/export-model.ts';
import { OutputPathError } from '../tools/node/output-dir.ts';
import { oneErrorLine, runTool } from './helpers/cli.ts';
import { tinyCheckpoint, tinyModel } from './helpers/fixtures.ts';
import { tempDirs } from './helpers/temp-dirs.ts';

const temp = tempDirs('export-out-');

/** A private copy of the tiny checkpoint in `root`/ckpt. */
function checkpointIn(root: string): { dalle: string; vqgan: string } {
  const { dalle, vqgan } = tinyCheckpoint();
  cpSync(dalle, join(root, 'ckpt', 'dalle'), { recursive: true });
  cpSync(vqgan, join(root, 'ckpt', 'vqgan'), { recursive: true });
  return { dalle: join(root, 'ckpt', 'dalle'), vqgan: join(root, 'ckpt', 'vqgan') };
}

function exportTo(ckpt: { dalle: string; vqgan: string }, outDir: string, force = false): void {
  exportModel({ dalleDir: ckpt.dalle, vqganDir: ckpt.vqgan, outDir, dtype: 'fp32', modelId: 'm', force });
}

const refusal =
  (message: RegExp) =>
  (error: unknown): boolean =>
    error instanceof OutputPathError && message.test(error.message);

void test('a non-empty folder that is not an export is kept, unless --force', () => {
  const root = temp();
  const ckpt = checkpointIn(root);
  const out = join(root, 'photos');
  mkdirSync(out);
  writeFileSync(join(out, 'holiday.jpg'), 'precious');
  assert.throws(
    () => exportTo(ckpt, out),
    refusal(/--out .*photos is a non-empty folder that is not a model export .* or pass --force/),
  );
  assert.equal(readFileSync(join(out, 'holiday.jpg'), 'utf8'), 'precious');
  exportTo(ckpt, out, true);
  assert.deepEqual(readdirSync(out).includes('holiday.jpg'), false);
  assert.ok(existsSync(join(out, 'manifest.json')));
  // Empty folders (a desktop's index file aside) and previous exports need no --force.
  mkdirSync(join(root, 'empty'));
  writeFileSync(join(root, 'empty', '.DS_Store'), 'finder');
  exportTo(ckpt, join(root, 'empty'));
  exportTo(ckpt, out);
  // A desktop's index file is no one's work.
  writeFileSync(join(out, '.DS_Store'), 'finder');
  exportTo(ckpt, out);
  // Unless someone keeps something of theirs beside an export: that is named, and kept.
  writeFileSync(join(out, 'NOTES.txt'), 'mine');
  assert.throws(() => exportTo(ckpt, out), refusal(/earlier export that also holds .*NOTES\.txt.* pass --force/));
  assert.equal(readFileSync(join(out, 'NOTES.txt'), 'utf8'), 'mine');
  assert.deepEqual(
    readdirSync(root).filter((f) => f.startsWith('.')),
    [],
    'no staging or set-aside folder is left',
  );
});

void test('a file, the inputs and folders around them are refused even with --force', () => {
  const root = temp();
  const ckpt = checkpointIn(root);
  writeFileSync(join(root, 'notes.txt'), 'keep me');
  assert.throws(() => exportTo(ckpt, join(root, 'notes.txt'), true), refusal(/notes\.txt is a file, not a folder/));
  assert.equal(readFileSync(join(root, 'notes.txt'), 'utf8'), 'keep me');
  assert.throws(
    () => exportTo(ckpt, join(root, 'notes.txt', 'model'), true),
    refusal(/model: .*notes\.txt is a file, not a folder/),
  );
  assert.throws(
    () => exportTo(ckpt, join(root, 'ckpt'), true),
    refusal(/--out .*ckpt holds the input folder .*dalle; .*--force does not override this/),
  );
  assert.throws(() => exportTo(ckpt, ckpt.dalle, true), refusal(/holds the input folder/));
  assert.throws(() => exportTo(ckpt, join(ckpt.vqgan, 'model'), true), refusal(/lies inside the input folder .*vqgan/));
  symlinkSync(join(root, 'ckpt'), join(root, 'alias'));
  assert.throws(() => exportTo(ckpt, join(root, 'alias'), true), refusal(/holds the input folder/));
  assert.ok(existsSync(join(ckpt.dalle, 'flax_model.msgpack')) && existsSync(join(ckpt.vqgan, 'flax_model.msgpack')));
});

void test('export --out . or a parent of the working directory is refused; --force only replaces other folders', async () => {
  const root = temp();
  const ckpt = checkpointIn(root);
  const work = join(root, 'work');
  mkdirSync(join(work, 'deeper'), { recursive: true });
  writeFileSync(join(work, 'deeper', 'sentinel'), 'here');
  const args = ['--dalle', ckpt.dalle, '--vqgan', ckpt.vqgan, '--force'];
  const [dot, parent] = await Promise.all([
    runTool('export', [...args, '--out', '.'], { cwd: join(work, 'deeper') }),
    runTool('export', [...args, '--out', work], { cwd: join(work, 'deeper') }),
  ]);
  assert.match(oneErrorLine(dot), /holds the working directory .*deeper, which replacing it would delete/);
  assert.match(oneErrorLine(parent), /holds the working directory/);
  assert.equal(readFileSync(join(work, 'deeper', 'sentinel'), 'utf8'), 'here');
  const other = join(root, 'other');
  mkdirSync(other);
  writeFileSync(join(other, 'x'), 'x');
  const refused = await runTool('export', ['--dalle', ckpt.dalle, '--vqgan', ckpt.vqgan, '--out', other], {
    cwd: work,
  });
  assert.match(oneErrorLine(refused), /or pass --force to replace it/);
  const forced = await runTool('export', [...args, '--out', other], { cwd: work });
  assert.equal(forced.code, 0, forced.stderr);
  assert.ok(existsSync(join(other, 'manifest.json')) && !existsSync(join(other, 'x')));
  // The cache holds downloads and the quantization report's scratch export: never replaced either.
  const cached = await runTool(
    'export',
    [...args, '--dtype', 'q8', '--cache-dir', join(root, 'shared', 'cache'), '--out', join(root, 'shared')],
    { cwd: work },
  );
  assert.match(
    oneErrorLine(cached),
    /--out .* holds the input folder .*cache; choose a folder apart from the checkpoints and the cache/,
  );
  if (process.platform === 'linux') {
    const proc = await runTool('export', [
      '--random',
      'tiny',
      '--cache-dir',
      join(root, 'cache'),
      '--out',
      '/proc/x/model',
    ]);
    assert.match(oneErrorLine(proc), /--out \/proc\/x\/model is on the proc pseudo-filesystem/);
    assert.equal(existsSync(join(root, 'cache')), false, 'nothing was written before the check');
  }
});

void test('a previous export is swapped for the new one, leaving nothing beside it', () => {
  const root = temp();
  const out = join(root, 'model');
  cpSync(tinyModel('fp32'), out, { recursive: true });
  writeFileSync(join(out, 'stale.txt'), 'old model');
  // A file the old manifest does not list goes only with --force (above).
  exportTo(checkpointIn(root), out, true);
  assert.equal(existsSync(join(out, 'stale.txt')), false);
  assert.deepEqual(readdirSync(root).sort(), ['ckpt', 'model']);
});

void test('--out a link to a folder exports into the linked folder and keeps the link', () => {
  const root = temp();
  const ckpt = checkpointIn(root);
  mkdirSync(join(root, 'big-disk'));
  symlinkSync(join(root, 'big-disk'), join(root, 'model'));
  exportTo(ckpt, join(root, 'model'));
  assert.ok(lstatSync(join(root, 'model')).isSymbolicLink(), 'still a link');
  assert.ok(existsSync(join(root, 'big-disk', 'manifest.json')), 'the model is where the link points');
  assert.deepEqual(readdirSync(root).sort(), ['big-disk', 'ckpt', 'model']);
});
