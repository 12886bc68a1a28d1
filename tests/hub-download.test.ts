import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, test } from 'node:test';

import { downloadHubFiles, HubDownloadError } from '../tools/exporter/hub-download.ts';
import { formatProgressLine } from '../tools/hub-progress.ts';
import type { HubFileRequest, HubProgress } from '../tools/exporter/hub-download.ts';
import { startHubTestServer } from './helpers/hub-server.ts';
import { sha256 } from './helpers/synthetic-model.ts';
import type { HubTestServer, HubTestServerOptions } from './helpers/hub-server.ts';

const REPO = 'dalle-mini/dalle-mini';
const MODEL = randomBytes(300_000);
const CONFIG = Buffer.from('{"d_model": 1024}\n');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Fixture {
  server: HubTestServer;
  destDir: string;
}

async function setup(options: HubTestServerOptions = {}): Promise<Fixture> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'hub-download-'));
  cleanups.push(() => rm(tmp, { recursive: true, force: true }));
  const repoDir = path.join(tmp, 'hub', REPO);
  await mkdir(repoDir, { recursive: true });
  await writeFile(path.join(repoDir, 'flax_model.msgpack'), MODEL);
  await writeFile(path.join(repoDir, 'config.json'), CONFIG);
  const server = await startHubTestServer(path.join(tmp, 'hub'), options);
  cleanups.push(() => server.close());
  return { server, destDir: path.join(tmp, 'dest') };
}

function req(file: string, optional = false): HubFileRequest {
  return optional ? { repo: REPO, revision: 'main', file, optional } : { repo: REPO, revision: 'main', file };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

void test('downloads required files, skips a missing optional one, and skips verified files later', async () => {
  const { server, destDir } = await setup();
  const progress: HubProgress[] = [];
  const files = [req('flax_model.msgpack'), req('config.json'), req('tokenizer.json', true)];
  const result = await downloadHubFiles({
    endpoint: server.endpoint,
    files,
    destDir,
    onProgress: (p) => progress.push(p),
  });

  assert.deepEqual([...result.keys()], ['flax_model.msgpack', 'config.json']);
  assert.deepEqual(await readFile(result.get('flax_model.msgpack') ?? ''), MODEL);
  assert.deepEqual(await readFile(result.get('config.json') ?? ''), CONFIG);
  const sidecar = await readFile(path.join(destDir, 'flax_model.msgpack.sha256'), 'utf8');
  assert.equal(sidecar, `${sha256(MODEL)}  flax_model.msgpack\n`);
  assert.equal(await exists(path.join(destDir, 'flax_model.msgpack.part')), false);
  assert.deepEqual(progress.filter((p) => p.file === 'flax_model.msgpack').at(-1), {
    file: 'flax_model.msgpack',
    loaded: MODEL.length,
    total: MODEL.length,
  });

  // A second run trusts the sidecars: only the optional file is asked for again.
  const before = server.requests.length;
  const again = await downloadHubFiles({ endpoint: server.endpoint, files, destDir });
  assert.deepEqual(again, result);
  assert.deepEqual(server.requests.slice(before), ['GET /dalle-mini/dalle-mini/resolve/main/tokenizer.json']);
});

void test('resumes from the .part file with a Range request after a mid-body disconnect', async () => {
  const { server, destDir } = await setup({ failAfterBytes: 100_000 });
  const files = [req('flax_model.msgpack')];
  const part = path.join(destDir, 'flax_model.msgpack.part');

  await assert.rejects(downloadHubFiles({ endpoint: server.endpoint, files, destDir }), (err: unknown) => {
    assert.ok(err instanceof HubDownloadError);
    assert.match(err.message, /interrupted.*rerun the same command to resume/);
    return true;
  });
  const partSize = (await stat(part)).size;
  assert.ok(partSize > 0 && partSize <= 100_000, `part file holds ${partSize} bytes`);

  const progress: HubProgress[] = [];
  const result = await downloadHubFiles({
    endpoint: server.endpoint,
    files,
    destDir,
    onProgress: (p) => progress.push(p),
  });
  assert.ok(
    server.requests.includes(`GET /dalle-mini/dalle-mini/resolve/main/flax_model.msgpack range=bytes=${partSize}-`),
  );
  assert.deepEqual(progress[0], { file: 'flax_model.msgpack', loaded: partSize, total: MODEL.length });
  assert.ok((await readFile(result.get('flax_model.msgpack') ?? '')).equals(MODEL));
  assert.equal(await exists(part), false);
});

void test('a sha256 mismatch names file and hashes and leaves no file behind', async () => {
  const { server, destDir } = await setup({ corrupt: 'flax_model.msgpack' });
  const files = [req('flax_model.msgpack')];
  const expected = sha256(MODEL);

  await assert.rejects(downloadHubFiles({ endpoint: server.endpoint, files, destDir }), (err: unknown) => {
    assert.ok(err instanceof HubDownloadError);
    assert.match(err.message, /flax_model\.msgpack/);
    assert.ok(err.message.includes(`expected ${expected}`), err.message);
    const actual = /got ([0-9a-f]{64})/.exec(err.message)?.[1];
    assert.ok(actual !== undefined && actual !== expected, err.message);
    return true;
  });
  for (const suffix of ['', '.part', '.sha256']) {
    assert.equal(await exists(path.join(destDir, `flax_model.msgpack${suffix}`)), false, suffix);
  }
});

void test('a missing required file fails with an error naming repo, revision and file', async () => {
  const { server, destDir } = await setup();
  const files: HubFileRequest[] = [{ repo: REPO, revision: 'v1.0', file: 'vocab.json' }];
  await assert.rejects(downloadHubFiles({ endpoint: server.endpoint, files, destDir }), (err: unknown) => {
    assert.ok(err instanceof HubDownloadError);
    assert.match(err.message, /vocab\.json not found in dalle-mini\/dalle-mini at revision v1\.0/);
    return true;
  });
});

void test('an unreachable endpoint says what to retry', async () => {
  const { server, destDir } = await setup();
  await server.close();
  await assert.rejects(
    downloadHubFiles({ endpoint: server.endpoint, files: [req('config.json')], destDir }),
    /could not reach .*config\.json.*rerun/,
  );
});

void test('formatProgressLine shows sizes in decimal units and a floored percentage', () => {
  assert.equal(
    formatProgressLine({ file: 'flax_model.msgpack', loaded: 123_400_000, total: 1_750_000_000 }),
    'flax_model.msgpack  123.4 MB / 1.75 GB  7%',
  );
  assert.equal(formatProgressLine({ file: 'config.json', loaded: 512, total: undefined }), 'config.json  512 bytes');
  assert.equal(formatProgressLine({ file: 'a', loaded: 1500, total: 1500 }), 'a  1.5 kB / 1.5 kB  100%');
});
