/** Processes that need the same cached fixture build it once, one at a time (tools/node/folder-lock.ts). */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { withFolderLock } from '../tools/node/folder-lock.ts';
import { processStartTime } from '../tools/node/staging.ts';
import { tempDirs } from './helpers/temp-dirs.ts';

const temp = tempDirs('folder-lock-');
const TSX = import.meta.resolve('tsx');
const CONTENDER = join(import.meta.dirname, 'helpers', 'lock-contender.ts');

function contend(args: readonly string[]): Promise<number | null> {
  const child = spawn(process.execPath, ['--import', TSX, CONTENDER, ...args], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
}

/** The log's lines as [event, pid] pairs. */
function events(log: string): [string, number][] {
  return readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [event, pid] = line.split(' ');
      return [event!, Number(pid)];
    });
}

void test('three processes wanting one fixture: one builds it, the others wait and use it', async () => {
  const root = temp();
  const dir = join(root, 'models', 'fixture');
  const log = join(root, 'log');
  // A build longer than a process takes to start (tsx included), so the others arrive while it holds the lock.
  const codes = await Promise.all([0, 1, 2].map(() => contend([dir, 'fp-1', log, '1500'])));
  assert.deepEqual(codes, [0, 0, 0]);
  const seen = events(log);
  assert.deepEqual(
    seen.filter(([event]) => event !== 'done').map(([event]) => event),
    ['start', 'end'],
    'built exactly once',
  );
  // Every contender returned only after the build had ended.
  const ended = seen.findIndex(([event]) => event === 'end');
  assert.deepEqual(
    seen.map(([event], i) => event !== 'done' || i > ended),
    seen.map(() => true),
  );
  assert.equal(readFileSync(join(dir, 'built-by'), 'utf8'), String(seen[0]![1]));
  assert.equal(readFileSync(join(root, 'models', '.fixture.exporter-fingerprint'), 'utf8'), 'fp-1');
  assert.deepEqual(readdirSync(join(root, 'models')).sort(), ['.fixture.exporter-fingerprint', 'fixture']);
});

void test('a new fingerprint rebuilds once; a current one does not build at all', async () => {
  const root = temp();
  const dir = join(root, 'fixture');
  const log = join(root, 'log');
  assert.equal(await contend([dir, 'fp-1', log, '0']), 0);
  assert.equal(await contend([dir, 'fp-1', log, '0']), 0);
  assert.deepEqual(
    events(log).map(([event]) => event),
    ['start', 'end', 'done', 'done'],
  );
  assert.deepEqual(await Promise.all([contend([dir, 'fp-2', log, '200']), contend([dir, 'fp-2', log, '200'])]), [0, 0]);
  assert.equal(events(log).filter(([event]) => event === 'start').length, 2);
});

void test('a claim left by a dead process is ignored and removed', () => {
  const root = temp();
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  const stale = join(root, `.fixture.lock-${dead}`);
  writeFileSync(stale, '');
  let ran = false;
  withFolderLock(join(root, 'fixture'), () => {
    ran = true;
    assert.equal(existsSync(join(root, `.fixture.lock-${process.pid}`)), true, 'holds its own claim');
  });
  assert.equal(ran, true);
  assert.deepEqual(readdirSync(root), [], 'both claims are gone');
});

const onLinux = processStartTime(process.pid) !== '';

void test('a claim whose pid now belongs to another process is ignored and removed', { skip: !onLinux }, async () => {
  const root = temp();
  const log = join(root, 'log');
  // A live process that did not write the claim: its start time is not the one the claim holds.
  const stranger = spawn('sleep', ['600']);
  try {
    const pid = stranger.pid!;
    const started = processStartTime(pid);
    assert.notEqual(started, '');
    assert.equal(processStartTime(pid), started, 'a process keeps its start time');
    writeFileSync(join(root, `.fixture.lock-${pid}`), String(Number(started) - 1));
    const waited = new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), 30_000).unref());
    assert.equal(await Promise.race([contend([join(root, 'fixture'), 'fp-1', log, '0']), waited]), 0);
    assert.deepEqual(
      events(log).map(([event]) => event),
      ['start', 'end', 'done'],
    );
    assert.equal(existsSync(join(root, `.fixture.lock-${pid}`)), false, 'the stale claim is gone');
  } finally {
    stranger.kill();
  }
});

void test('files that only look like claims (pid 0, not a number) hold nothing', () => {
  const root = temp();
  for (const name of ['.fixture.lock-0', '.fixture.lock-0x1A', '.fixture.lock- 12'])
    writeFileSync(join(root, name), '');
  let ran = false;
  withFolderLock(join(root, 'fixture'), () => (ran = true));
  assert.equal(ran, true);
});

void test('the lock is released when the work throws', () => {
  const root = temp();
  assert.throws(() =>
    withFolderLock(join(root, 'fixture'), () => {
      throw new Error('export failed');
    }),
  );
  assert.deepEqual(readdirSync(root), []);
});
