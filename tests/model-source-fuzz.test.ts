/**
 * Seeded property test of the manifest and the model sources against random damage: dropped fields,
 * wrong types, huge numbers, hostile paths (`..`, absolute, URLs, escaping symlinks). Whatever the
 * manifest says, parseManifest and both sources end in success or one of our named errors, and no
 * byte from outside the model folder is ever returned. Runs for BUDGET_MS; FUZZ_SEED=n replays a
 * failure. (Local helpers on purpose: the shared fuzz harness in tests/helpers will absorb them.)
 */
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { IntegrityError, ModelFileUnavailableError } from '../src/model/integrity.ts';
import { ManifestError, parseManifest } from '../src/model/manifest.ts';
import type { ModelManifest } from '../src/model/manifest.ts';
import type { ModelSource } from '../src/model/model-source.ts';
import { fetchManifest, httpModelSource } from '../src/worker/http-model-source.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { sha256, writeSyntheticModel } from './helpers/synthetic-model.ts';

const BUDGET_MS = 3000;
const FIRST_SEED = Number(process.env.FUZZ_SEED ?? 1);
const BASE = 'https://models.test/m/';
const SECRET = new TextEncoder().encode('SECRET=hunter2\n');
const SECRET_ENTRY = { bytes: SECRET.byteLength, sha256: sha256(SECRET) };

const root = mkdtempSync(join(tmpdir(), 'model-fuzz-'));
after(() => rmSync(root, { recursive: true, force: true }));
writeFileSync(join(root, 'secret.txt'), SECRET);
const dir = join(root, 'model');
const VALID = writeSyntheticModel(dir);
symlinkSync(join(root, 'secret.txt'), join(dir, 'escape.txt'));

/** mulberry32: small, seedable, good enough to pick mutations. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const HOSTILE_PATHS = [
  '../secret.txt',
  '../../secret.txt',
  `${root}/secret.txt`,
  '/etc/passwd',
  'https://evil.example/x',
  '//evil.example/x',
  '%2e%2e/secret.txt',
  'a/../../secret.txt',
  '..',
  '.',
  'escape.txt',
  'C:\\secret.txt',
  '../m/../secret.txt',
  'vocab.json?x',
  '',
];
const ODD_VALUES: unknown[] = [
  null,
  true,
  '',
  '12',
  [],
  {},
  1.5,
  -1,
  0,
  1e9,
  2 ** 53,
  1e308,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  'x'.repeat(5000),
  ['a'],
  { constructor: 1 },
];

type Json = Record<string, unknown> | unknown[];
type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** Every [container, key] in the tree, so a mutation can reach any field at any depth. */
function slots(node: unknown, out: [Json, string | number][] = []): [Json, string | number][] {
  if (typeof node !== 'object' || node === null) return out;
  for (const [key, child] of Object.entries(node)) {
    out.push([node as Json, Array.isArray(node) ? Number(key) : key]);
    slots(child, out);
  }
  return out;
}

function mutate(manifest: unknown, random: Random): void {
  const [container, key] = pick(random, slots(manifest));
  const files = (manifest as { files?: unknown }).files;
  switch (Math.floor(random() * 4)) {
    case 0:
      if (Array.isArray(container)) container.splice(Number(key), 1);
      else delete container[key as string];
      return;
    case 1:
      (container as Record<string | number, unknown>)[key] = pick(random, ODD_VALUES);
      return;
    case 2: // A hostile path, listed with the secret's real size and sha256 so a leak would pass every check.
      if (Array.isArray(files)) files.push({ path: pick(random, HOSTILE_PATHS), ...SECRET_ENTRY });
      return;
    default: // A hostile path where a file or a reference was.
      if (typeof (container as Record<string | number, unknown>)[key] === 'string')
        (container as Record<string | number, unknown>)[key] = pick(random, HOSTILE_PATHS);
  }
}

const OURS = [ManifestError, IntegrityError, ModelFileUnavailableError];
function assertOurs(error: unknown, what: string): void {
  assert.ok(
    OURS.some((named) => error instanceof named),
    `${what}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
  );
  assert.ok(!(error as Error).message.includes('hunter2'), `${what}: the message quotes the secret`);
}

/** Reads every listed path and every hostile one; nothing may come back but the folder's own bytes. */
async function readAll(source: ModelSource, what: string): Promise<void> {
  for (const path of [...source.manifest.files.map((f) => f.path), ...HOSTILE_PATHS]) {
    try {
      const bytes = await source.readFile(path);
      assert.notDeepEqual(Buffer.from(bytes), Buffer.from(SECRET), `${what}: ${path} read the secret`);
      assert.deepEqual(Buffer.from(bytes), readFileSync(join(dir, path)), `${what}: ${path}`);
    } catch (error) {
      if (error instanceof assert.AssertionError) throw error;
      assertOurs(error, `${what}: ${path}`);
    }
  }
}

/**
 * Serves the folder's regular files under BASE (index.html for anything else) and the secret
 * outside BASE, recording every URL.
 */
function serving(urls: string[], manifestText: string): (url: string) => Promise<Response> {
  return (url) => {
    urls.push(url);
    if (url === `${BASE}manifest.json`) return Promise.resolve(new Response(manifestText));
    if (!url.startsWith(BASE)) return Promise.resolve(new Response(SECRET));
    const file = join(dir, new URL(url).pathname.slice(new URL(BASE).pathname.length));
    if (existsSync(file) && lstatSync(file).isFile()) return Promise.resolve(new Response(readFileSync(file)));
    return Promise.resolve(new Response('<!doctype html><html></html>', { headers: { 'content-type': 'text/html' } }));
  };
}

async function checkOne(seed: number, outcomes: Map<string, number>): Promise<void> {
  const random = rng(seed);
  const damaged: unknown = structuredClone(VALID);
  for (let n = 1 + Math.floor(random() * 3); n > 0; n--) mutate(damaged, random);
  const what = `FUZZ_SEED=${seed}`;
  let manifest: ModelManifest | undefined;
  try {
    manifest = parseManifest(damaged);
  } catch (error) {
    assert.ok(error instanceof ManifestError, `${what}: parseManifest threw ${String(error)}`);
  }
  const text = JSON.stringify(damaged) ?? 'null';
  const urls: string[] = [];
  try {
    await fetchManifest(BASE, { fetch: serving(urls, text) });
  } catch (error) {
    assertOurs(error, `${what} fetchManifest`);
  }
  outcomes.set(manifest ? 'parsed' : 'refused', (outcomes.get(manifest ? 'parsed' : 'refused') ?? 0) + 1);
  // A manifest built in code skips parseManifest: the sources must hold the line by themselves.
  const typed = manifest ?? {
    ...VALID,
    files: [...VALID.files, { path: pick(random, HOSTILE_PATHS), ...SECRET_ENTRY }],
  };
  writeFileSync(join(dir, 'manifest.json'), text);
  try {
    await readAll(openModelFolder(dir), `${what} folder`);
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    assertOurs(error, `${what} openModelFolder`);
  }
  await readAll(httpModelSource(BASE, typed, { fetch: serving(urls, text) }), `${what} http`);
  assert.deepEqual(
    urls.filter((url) => !url.startsWith(BASE)),
    [],
    `${what}: fetched outside the model URL`,
  );
}

void test(`manifest and sources under random damage: our errors or success, never a byte from outside (${BUDGET_MS} ms)`, async () => {
  const outcomes = new Map<string, number>();
  const started = performance.now();
  let seed = FIRST_SEED;
  while (performance.now() - started < BUDGET_MS) await checkOne(seed++, outcomes);
  // The mutations must exercise both sides: some manifests still parse, most are refused.
  assert.ok((outcomes.get('parsed') ?? 0) > 0 && (outcomes.get('refused') ?? 0) > 0, JSON.stringify([...outcomes]));
  console.log(
    `# fuzz: ${seed - FIRST_SEED} cases from seed ${FIRST_SEED}: ${JSON.stringify(Object.fromEntries(outcomes))}`,
  );
});
