/**
 * Interrupted exports leave nothing behind: signals, SIGKILL mid-checkpoint, and stale staging
 * folders (issue #6 item 3).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { exportModel } from '../tools/exporter/export-model.ts';
import { ensureRandomCheckpoint } from '../tools/exporter/random-checkpoint.ts';
import { markStaging } from '../tools/node/staging.ts';
import { runTool } from './helpers/cli.ts';
import type { CliResult } from './helpers/cli.ts';
import { tinyCheckpoint, tinyModel } from './helpers/fixtures.ts';
import { tempDirs } from './helpers/temp-dirs.ts';

const temp = tempDirs('export-interrupt-');

/** Hidden entries (staging and set-aside folders) in `dirs`, once the cleanup guard has had its chance. */
async function leftoversAfterCleanup(dirs: readonly string[]): Promise<string[]> {
  const hidden = (): string[] =>
    dirs.flatMap((dir) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('.')) : []));
  for (let waited = 0; hidden().length > 0 && waited < 10_000; waited += 50) await sleep(50);
  return hidden();
}

/**
 * Runs `export --random tiny` paused at `stage`, checks that `staging` (a path, given the export's
 * pid) exists there, and sends `signal`.
 */
async function interruptedExport(
  root: string,
  stage: string,
  signal: NodeJS.Signals,
  staging: (pid: number) => string,
): Promise<CliResult & { stagingSeen: boolean }> {
  let stagingSeen = false;
  let sent = false;
  const result = await runTool(
    'export',
    ['--random', 'tiny', '--seed', '1', '--cache-dir', join(root, 'cache'), '--out', join(root, 'model')],
    {
      cwd: root,
      env: { DALLE_EXPORT_TEST_PAUSE: stage },
      onStderr: (child, chunk) => {
        if (sent || !chunk.includes(stage)) return;
        sent = true;
        stagingSeen = child.pid !== undefined && existsSync(staging(child.pid));
        child.kill(signal);
      },
    },
  );
  return { ...result, stagingSeen };
}

/** A pid that is certainly not running: a process that has already exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid;
}

void test(
  'SIGINT or SIGTERM mid-export removes the staging folder and keeps the previous model',
  { timeout: 30_000 },
  async () => {
    const roots = [temp(), temp()];
    for (const root of roots) cpSync(tinyModel('fp32'), join(root, 'model'), { recursive: true });
    const before = readFileSync(join(roots[0]!, 'model', 'manifest.json'), 'utf8');
    const results = await Promise.all(
      (['SIGINT', 'SIGTERM'] as const).map((signal, i) =>
        interruptedExport(roots[i]!, 'decoder (', signal, (pid) => join(roots[i]!, `.model.partial-${pid}`)),
      ),
    );
    assert.deepEqual(
      results.map((r) => [r.signal, r.stagingSeen]),
      [
        ['SIGINT', true],
        ['SIGTERM', true],
      ],
    );
    for (const root of roots) {
      assert.deepEqual(
        await leftoversAfterCleanup([root, join(root, 'cache'), join(root, 'cache', 'checkpoints')]),
        [],
      );
      assert.equal(
        readFileSync(join(root, 'model', 'manifest.json'), 'utf8'),
        before,
        'the previous model is untouched',
      );
    }
  },
);

void test(
  'a SIGKILL while the random checkpoint is written leaves no truncated cache',
  { timeout: 30_000 },
  async () => {
    const root = temp();
    const checkpoints = join(root, 'cache', 'checkpoints');
    const killed = await interruptedExport(root, 'random checkpoint: VQGAN', 'SIGKILL', (pid) =>
      join(checkpoints, `.random-tiny-seed1.partial-${pid}`),
    );
    assert.deepEqual([killed.signal, killed.stagingSeen], ['SIGKILL', true]);
    assert.deepEqual(await leftoversAfterCleanup([root, checkpoints]), []);
    assert.deepEqual(readdirSync(checkpoints), [], 'no half-written checkpoint passes for a cached one');
    const again = await runTool(
      'export',
      ['--random', 'tiny', '--seed', '1', '--cache-dir', join(root, 'cache'), '--out', join(root, 'model')],
      { cwd: root },
    );
    assert.equal(again.code, 0, again.stderr);
  },
);

/** Pids of cleanup guards still watching process `pid` (Linux: read from /proc). */
function guardsOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^[0-9]+$/.test(entry))
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, 'utf8')
          .split('\0')
          .join(' ')
          .includes(`cleanup-guard-main.ts ${pid} `);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

void test(
  "the cleanup guard does not hang on to the export's working directory, and ends with the export",
  { skip: process.platform !== 'linux', timeout: 30_000 },
  async () => {
    // A guard started in the caller's folder hung for good when that folder was deleted under it.
    const root = temp();
    let pid = 0;
    let guardFolders: string[] = [];
    const result = await runTool(
      'export',
      ['--random', 'tiny', '--seed', '1', '--cache-dir', join(root, 'cache'), '--out', join(root, 'model')],
      {
        cwd: root,
        env: { DALLE_EXPORT_TEST_PAUSE: 'decoder (' },
        onStderr: (child, chunk) => {
          if (pid !== 0 || !chunk.includes('decoder (')) return;
          pid = child.pid ?? 0;
          guardFolders = guardsOf(pid).map((guard) => readlinkSync(`/proc/${guard}/cwd`));
          child.kill('SIGTERM');
        },
      },
    );
    assert.equal(result.signal, 'SIGTERM');
    assert.equal(guardFolders.length, 1, 'one guard watches the export');
    assert.ok(!guardFolders[0]!.startsWith(root), `the guard runs in ${guardFolders[0]}`);
    for (let waited = 0; guardsOf(pid).length > 0 && waited < 10_000; waited += 100) await sleep(100);
    assert.deepEqual(guardsOf(pid), [], 'no guard outlives its export');
  },
);

void test('an export sweeps staging folders of dead processes beside --out, and nothing else', () => {
  const root = temp();
  const dead = deadPid();
  const alive = process.ppid;
  // Ours: made by createStaging (a mark inside) or set aside by a swap (a claim beside).
  const folders = [
    `.model.partial-${dead}`,
    `.other.partial-${dead}`,
    `.model.partial-${alive}`,
    '.model.partial-abc',
    `model.partial-${dead}`,
    `.gone.old-${dead}`,
  ];
  for (const name of folders) mkdirSync(join(root, name));
  for (const name of folders.filter((name) => name.includes('.partial-'))) markStaging(join(root, name));
  writeFileSync(join(root, `.gone.old-${dead}`, 'manifest.json'), 'the model set aside');
  writeFileSync(join(root, `.gone.old-${dead}.claim`), `${dead}\n`);
  writeFileSync(join(root, `.never.old-${dead}.claim`), `${dead}\n`);
  writeFileSync(join(root, `.file.partial-${dead}`), 'a file, not ours');
  // The visitor's own folders that merely look like leftovers: no mark, no claim.
  for (const name of [`.thesis.partial-${dead}`, `.photos.old-${dead}`]) {
    mkdirSync(join(root, name));
    writeFileSync(join(root, name, 'notes.txt'), 'mine');
  }
  const { dalle, vqgan } = tinyCheckpoint();
  exportModel({ dalleDir: dalle, vqganDir: vqgan, outDir: join(root, 'model'), dtype: 'fp32' });
  assert.deepEqual(
    readdirSync(root).sort(),
    [
      `.file.partial-${dead}`,
      `.model.partial-${alive}`,
      '.model.partial-abc',
      `.thesis.partial-${dead}`,
      `.photos.old-${dead}`,
      'gone',
      'model',
      `model.partial-${dead}`,
    ].sort(),
  );
  assert.equal(readFileSync(join(root, `.thesis.partial-${dead}`, 'notes.txt'), 'utf8'), 'mine');
  assert.deepEqual(
    readdirSync(join(root, 'model')).filter((name) => name.startsWith('.')),
    [],
    'no mark in the output',
  );
  assert.equal(
    readFileSync(join(root, 'gone', 'manifest.json'), 'utf8'),
    'the model set aside',
    'a model set aside whose swap never finished is put back',
  );
});

void test('a random checkpoint without its completion stamp (an interrupted write), or by other code, is rewritten', () => {
  const root = temp();
  const dir = join(root, 'random-tiny-seed1');
  const first = ensureRandomCheckpoint('tiny', 1, dir);
  const complete = readFileSync(join(first.dalle, 'flax_model.msgpack'));
  writeFileSync(join(first.dalle, 'flax_model.msgpack'), complete.subarray(0, 1000));
  ensureRandomCheckpoint('tiny', 1, dir);
  assert.equal(
    readFileSync(join(first.dalle, 'flax_model.msgpack')).length,
    1000,
    'a complete checkpoint is reused as it is',
  );
  rmSync(join(dir, '.complete'));
  ensureRandomCheckpoint('tiny', 1, dir);
  assert.deepEqual(readFileSync(join(first.dalle, 'flax_model.msgpack')), complete);
  // Written by other exporter code (its fingerprint in the stamp): the same seed may give other bytes now.
  writeFileSync(join(first.dalle, 'flax_model.msgpack'), complete.subarray(0, 1000));
  writeFileSync(join(dir, '.complete'), 'older-exporter');
  ensureRandomCheckpoint('tiny', 1, dir);
  assert.deepEqual(readFileSync(join(first.dalle, 'flax_model.msgpack')), complete);
});
