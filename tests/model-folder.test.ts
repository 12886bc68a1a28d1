/**
 * The Node model-folder source reads only regular files inside the folder, of the declared size,
 * before buffering them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { IntegrityError, ModelFileUnavailableError } from '../src/model/integrity.ts';
import { ManifestError } from '../src/model/manifest.ts';
import type { ModelManifest } from '../src/model/manifest.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { sha256, syntheticContents, writeSyntheticModel } from './helpers/synthetic-model.ts';

const SECRET = new TextEncoder().encode('SECRET=hunter2\nsecond line\n');
const roots: string[] = [];
after(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

/** <tmp>/secret.txt next to <tmp>/model/, a synthetic model; returns the model folder. */
function modelBesideSecret(): { root: string; dir: string; manifest: ModelManifest } {
  const root = mkdtempSync(join(tmpdir(), 'model-folder-'));
  roots.push(root);
  writeFileSync(join(root, 'secret.txt'), SECRET);
  const dir = join(root, 'model');
  return { root, dir, manifest: writeSyntheticModel(dir) };
}

/** Rewrites manifest.json with one more listed file. */
function listExtra(dir: string, manifest: ModelManifest, path: string, bytes: number, sha: string): void {
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({ ...manifest, files: [...manifest.files, { path, bytes, sha256: sha }] }),
  );
}

void test('listed files come back byte-identical', async () => {
  const { dir } = modelBesideSecret();
  const source = openModelFolder(dir);
  for (const [path, bytes] of syntheticContents()) assert.deepEqual(await source.readFile(path), bytes);
});

void test('a manifest naming ../ or absolute paths is refused when the folder is opened, quoting no file content', () => {
  const { dir, manifest } = modelBesideSecret();
  for (const path of [
    '../secret.txt',
    '../../secret.txt',
    join(dir, '..', 'secret.txt'),
    '%2e%2e/secret.txt',
    'https://evil.example/x',
  ]) {
    listExtra(dir, manifest, path, SECRET.byteLength, sha256(SECRET));
    assert.throws(
      () => openModelFolder(dir),
      (e: unknown) =>
        e instanceof ManifestError && /must be a relative path/.test(e.message) && !e.message.includes('hunter2'),
      path,
    );
  }
});

void test('a symlink leading out of the folder is not followed, even with the right size and sha256', async () => {
  const { root, dir, manifest } = modelBesideSecret();
  symlinkSync(join(root, 'secret.txt'), join(dir, 'link.txt'));
  symlinkSync('/dev/zero', join(dir, 'zero.bin'));
  listExtra(dir, manifest, 'link.txt', SECRET.byteLength, sha256(SECRET));
  await assert.rejects(
    openModelFolder(dir).readFile('link.txt'),
    (e: unknown) => e instanceof ModelFileUnavailableError && /outside the model folder/.test(e.message),
  );
  listExtra(dir, manifest, 'zero.bin', 1 << 20, 'a'.repeat(64));
  await assert.rejects(openModelFolder(dir).readFile('zero.bin'), /outside the model folder/);
});

void test('a symlink to a file inside the folder is fine', async () => {
  const { dir, manifest } = modelBesideSecret();
  symlinkSync('vocab.json', join(dir, 'alias.json'));
  const vocab = syntheticContents().get('vocab.json')!;
  listExtra(dir, manifest, 'alias.json', vocab.byteLength, sha256(vocab));
  assert.deepEqual(await openModelFolder(dir).readFile('alias.json'), vocab);
});

void test('a file larger than declared is refused from its size, before any byte is buffered', async () => {
  const { dir, manifest } = modelBesideSecret();
  // Sparse: 64 GiB on paper, nothing on disk; reading it would take minutes and exhaust memory.
  writeFileSync(join(dir, 'huge.bin'), '');
  truncateSync(join(dir, 'huge.bin'), 2 ** 36);
  listExtra(dir, manifest, 'huge.bin', 10, 'a'.repeat(64));
  const started = performance.now();
  await assert.rejects(
    openModelFolder(dir).readFile('huge.bin'),
    (e: unknown) => e instanceof IntegrityError && e.actual === `${2 ** 36} bytes`,
  );
  assert.ok(performance.now() - started < 1000);
});

void test('a missing file, a directory and a FIFO are "not available", not corrupted', async () => {
  const { dir, manifest } = modelBesideSecret();
  listExtra(dir, manifest, 'gone.bin', 4, 'a'.repeat(64));
  await assert.rejects(
    openModelFolder(dir).readFile('gone.bin'),
    (e: unknown) => e instanceof ModelFileUnavailableError && /no such file/.test(e.message),
  );
  mkdirSync(join(dir, 'sub'));
  listExtra(dir, manifest, 'sub', 4, 'a'.repeat(64));
  await assert.rejects(openModelFolder(dir).readFile('sub'), /not a regular file/);
  execFileSync('mkfifo', [join(dir, 'pipe')]);
  listExtra(dir, manifest, 'pipe', 4, 'a'.repeat(64));
  await assert.rejects(openModelFolder(dir).readFile('pipe'), /not a regular file/);
});

void test('a corrupted file of the right size is an IntegrityError on its sha256; an unlisted file a ManifestError', async () => {
  const { dir } = modelBesideSecret();
  writeFileSync(
    join(dir, 'vocab.json'),
    syntheticContents()
      .get('vocab.json')!
      .map((b) => b ^ 1),
  );
  const source = openModelFolder(dir);
  await assert.rejects(
    source.readFile('vocab.json'),
    (e: unknown) => e instanceof IntegrityError && e.expected.startsWith('sha256 '),
  );
  await assert.rejects(
    source.readFile('../secret.txt'),
    (e: unknown) => e instanceof ManifestError && /does not list/.test(e.message),
  );
});

void test('manifest.json itself must be a small regular file', () => {
  const { dir } = modelBesideSecret();
  rmSync(join(dir, 'manifest.json'));
  symlinkSync('/dev/zero', join(dir, 'manifest.json'));
  assert.throws(
    () => openModelFolder(dir),
    (e: unknown) => e instanceof ManifestError && /not a model manifest/.test(e.message),
  );
  assert.throws(
    () => openModelFolder(join(dir, 'nope')),
    (e: unknown) => e instanceof ManifestError && /does not exist/.test(e.message),
  );
});

void test('a manifest that is not JSON is reported without quoting it', () => {
  const { dir } = modelBesideSecret();
  writeFileSync(join(dir, 'manifest.json'), 'SECRET=hunter2');
  assert.throws(
    () => openModelFolder(dir),
    (e: unknown) => e instanceof ManifestError && /SyntaxError/.test(e.message) && !e.message.includes('hunter2'),
  );
});
