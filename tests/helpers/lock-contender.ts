/**
 * One process contending for a fixture: `ensureStamped(<dir>, <fingerprint>)` whose build logs its
 * start and end to `<log>` and takes `<buildMs>`. Run by tests/folder-lock.test.ts, several at once.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureStamped } from '../../tools/exporter/tiny-model.ts';

const [dir, fingerprint, log, buildMs] = process.argv.slice(2);
if (dir === undefined || fingerprint === undefined || log === undefined || buildMs === undefined)
  throw new Error('usage: lock-contender <dir> <fingerprint> <log> <buildMs>');

ensureStamped(dir, fingerprint, () => {
  appendFileSync(log, `start ${process.pid}\n`);
  mkdirSync(dir, { recursive: true });
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(buildMs));
  writeFileSync(join(dir, 'built-by'), String(process.pid));
  appendFileSync(log, `end ${process.pid}\n`);
});
appendFileSync(log, `done ${process.pid}\n`);
