/** The model catalog: validation that names the field, device checks, and `npm run export -- --catalog`. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CatalogError, catalogHosts, modelFolderUrl, parseCatalog, unavailableReason } from '../src/model/catalog.ts';
import { updateCatalog } from '../tools/exporter/catalog-entry.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { tinyModel } from './helpers/fixtures.ts';

const SITE_CATALOG = join(import.meta.dirname, '..', 'public', 'models', 'catalog.json');
const MODEL = {
  id: 'm',
  name: 'M',
  description: 'd',
  url: 'm/',
  dtype: 'q8',
  requires: { webgpu: false, shaderF16: false, memoryBytes: 0 },
};

void test("the site's own catalog is valid and starts with the bundled demo, which loads without asking", () => {
  const { models } = parseCatalog(JSON.parse(readFileSync(SITE_CATALOG, 'utf8')));
  assert.equal(models[0]?.id, 'demo');
  assert.equal(models[0]?.askBeforeDownload, false);
  assert.ok(models.slice(1).every((model) => model.askBeforeDownload));
});

void test('a malformed catalog names the field', () => {
  const cases: [unknown, RegExp][] = [
    [null, /must be a JSON object/],
    [{ format: 'x', models: [MODEL] }, /"format"/],
    [{ format: 'dalle-mini-web-catalog/1', models: [] }, /"models" must be an array of 1/],
    [{ format: 'dalle-mini-web-catalog/1', models: [{ ...MODEL, id: 'Bad Id' }] }, /"models\[0\]\.id"/],
    [
      { format: 'dalle-mini-web-catalog/1', models: [{ ...MODEL, url: 'javascript:alert(1)/' }] },
      /"models\[0\]\.url" must be a relative folder or an http\(s\) URL/,
    ],
    [{ format: 'dalle-mini-web-catalog/1', models: [{ ...MODEL, url: 'm' }] }, /must end with "\/"/],
    [{ format: 'dalle-mini-web-catalog/1', models: [MODEL, MODEL] }, /repeats the id "m"/],
    [{ format: 'dalle-mini-web-catalog/1', models: [{ ...MODEL, bytes: -1 }] }, /"models\[0\]\.bytes"/],
  ];
  for (const [json, message] of cases)
    assert.throws(
      () => parseCatalog(json),
      (e: unknown) => e instanceof CatalogError && message.test(e.message),
      String(message),
    );
});

void test('folders resolve against the catalog; absolute ones become connect-src hosts', () => {
  const catalog = parseCatalog({
    format: 'dalle-mini-web-catalog/1',
    models: [MODEL, { ...MODEL, id: 'far', url: 'https://hf.example/r/resolve/main/' }],
  });
  assert.equal(
    modelFolderUrl(catalog.models[0]!, 'https://site.example/app/models/catalog.json'),
    'https://site.example/app/models/m/',
  );
  assert.deepEqual(catalogHosts(catalog), ['https://hf.example']);
});

void test('a model says why it cannot run on a device', () => {
  const [model] = parseCatalog({
    format: 'dalle-mini-web-catalog/1',
    models: [{ ...MODEL, requires: { webgpu: true, shaderF16: true, memoryBytes: 4 * 2 ** 30 } }],
  }).models;
  assert.match(unavailableReason(model!, { webgpu: false, shaderF16: false }) ?? '', /needs WebGPU/);
  assert.match(unavailableReason(model!, { webgpu: true, shaderF16: false }) ?? '', /shader-f16/);
  assert.match(
    unavailableReason(model!, { webgpu: true, shaderF16: true, memoryBytes: 2 * 2 ** 30 }) ?? '',
    /needs about 4\.0 GB/,
  );
  // deviceMemory is capped at 8 GiB: that figure proves nothing.
  assert.equal(unavailableReason(model!, { webgpu: true, shaderF16: true, memoryBytes: 8 * 2 ** 30 }), null);
});

void test('export --catalog adds an entry, and a re-export keeps the owner’s wording while renewing the size', () => {
  const dir = mkdtempSync(join(tmpdir(), 'catalog-'));
  const catalogFile = join(dir, 'catalog.json');
  const { manifest } = openModelFolder(tinyModel('fp32'));
  const first = updateCatalog({ catalogFile, outDir: join(dir, 'tiny'), manifest });
  assert.equal(first.url, 'tiny/');
  assert.equal(
    first.bytes,
    manifest.files.reduce((sum, f) => sum + f.bytes, 0),
  );
  const edited = JSON.parse(readFileSync(catalogFile, 'utf8')) as { models: { name: string }[] };
  edited.models[0]!.name = 'My model';
  writeFileSync(catalogFile, JSON.stringify(edited));
  const again = updateCatalog({ catalogFile, outDir: join(dir, 'tiny'), manifest, url: 'https://cdn.example/tiny/' });
  assert.equal(again.name, 'My model');
  assert.equal(again.url, 'https://cdn.example/tiny/');
  assert.equal(parseCatalog(JSON.parse(readFileSync(catalogFile, 'utf8'))).models.length, 1);
});

void test('npm run export writes the catalog entry and splits external data into --shard-mb files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'catalog-cli-'));
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'tools/export.ts',
      '--random',
      'tiny',
      '--seed',
      '1',
      '--out',
      join(dir, 'tiny'),
      '--catalog',
      join(dir, 'catalog.json'),
      '--shard-mb',
      '1',
    ],
    {
      cwd: join(import.meta.dirname, '..'),
      encoding: 'utf8',
    },
  );
  assert.equal(run.status, 0, run.stderr);
  const [entry] = parseCatalog(JSON.parse(readFileSync(join(dir, 'catalog.json'), 'utf8'))).models;
  assert.equal(entry?.id, 'random-tiny-seed1-fp32');
  const manifest = openModelFolder(join(dir, 'tiny')).manifest;
  assert.ok(manifest.graphs.decoder.externalData.length > 1, 'the decoder data is split into several files');
});
