/** The model catalog: validation that names the field, device checks, and `npm run export -- --catalog`. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NewerFormatError } from '../src/model/format-version.ts';
import { CatalogError, catalogHosts, modelFolderUrl, parseCatalog, unavailableReason } from '../src/model/catalog.ts';
import { loadedWeightBytes, updateCatalog } from '../tools/exporter/catalog-entry.ts';
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

const RANKER = { id: 'clip-demo', name: 'C', url: 'clip/', dtype: 'fp32', memoryBytes: 0 };
const PLAIN_ENTRY = {
  id: 'other',
  name: 'Other',
  description: 'd',
  url: 'other/',
  dtype: 'fp32',
  requires: { webgpu: false, shaderF16: false, memoryBytes: 0 },
};

void test("the site's own catalog is valid and starts with the bundled demo, which loads without asking", () => {
  const { models } = parseCatalog(JSON.parse(readFileSync(SITE_CATALOG, 'utf8')));
  assert.equal(models[0]?.id, 'demo');
  assert.equal(models[0]?.askBeforeDownload, false);
  assert.ok(models.slice(1).every((model) => model.askBeforeDownload));
});

/** The demo's caption grammar (tools/train/scenes.py): one object, maybe placed, or two side by side; a background. */
const DEMO_COLOUR = '(?:red|green|blue|yellow|orange|purple|pink|white|black|grey|brown|cyan)';
const DEMO_OBJECT = `an? (?:(?:small|big) )?${DEMO_COLOUR} (?:circle|square|triangle|star|ring)`;
const DEMO_CAPTION = new RegExp(
  `^(?:${DEMO_OBJECT}(?: in the (?:top|bottom) (?:left|right))?|${DEMO_OBJECT} and ${DEMO_OBJECT})` +
    `(?: on an? ${DEMO_COLOUR} background)?$`,
);

void test("each model offers its own example prompts: the demo's follow its caption grammar", () => {
  const { models } = parseCatalog(JSON.parse(readFileSync(SITE_CATALOG, 'utf8')));
  const demo = models.find((model) => model.id === 'demo');
  assert.ok(demo && demo.examples.length >= 3);
  const vocab = JSON.parse(
    readFileSync(join(import.meta.dirname, '..', 'tools', 'train', 'demo-checkpoint', 'dalle', 'vocab.json'), 'utf8'),
  ) as Record<string, number>;
  for (const example of demo.examples) {
    assert.match(example, DEMO_CAPTION);
    for (const [, article, word] of example.matchAll(/\b(an?) (\w)/g))
      assert.equal(article, /[aeiou]/.test(word!) ? 'an' : 'a', example);
    for (const word of example.split(' ')) assert.ok(`Ġ${word}` in vocab, `"${word}" is one demo token`);
  }
  for (const model of models.filter((m) => m.id !== 'demo')) {
    assert.ok(model.examples.length >= 3, model.id);
    assert.ok(model.examples.every((example) => !demo.examples.includes(example)));
  }
});

void test("a model's suggested sampling is read and checked; the demo suggests condition scale 1.5", () => {
  const { models } = parseCatalog(JSON.parse(readFileSync(SITE_CATALOG, 'utf8')));
  assert.deepEqual(models.find((model) => model.id === 'demo')?.sampling, { conditionScale: 1.5 });
  assert.deepEqual(models.find((model) => model.id !== 'demo')?.sampling, {});
  const read = (sampling: unknown) =>
    parseCatalog({ format: 'dalle-mini-web-catalog/1', models: [{ ...MODEL, sampling }] }).models[0]!.sampling;
  assert.deepEqual(read({ topK: 0, topP: 0.9, temperature: 0.5 }), { topK: 0, topP: 0.9, temperature: 0.5 });
  assert.throws(() => read({ conditionScale: -1 }), /"models\[0\]\.sampling\.conditionScale" must be a number from 0/);
  assert.throws(() => read({ topK: 1.5 }), /"models\[0\]\.sampling\.topK"/);
  assert.throws(() => read({ topP: 0 }), /"models\[0\]\.sampling\.topP"/);
  assert.throws(() => read({ temperature: '1' }), /"models\[0\]\.sampling\.temperature"/);
  assert.throws(() => read(3), /"models\[0\]\.sampling"/);
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
    [
      { format: 'dalle-mini-web-catalog/1', models: [{ ...MODEL, examples: 'a cat' }] },
      /"models\[0\]\.examples" must be an array/,
    ],
    [
      { format: 'dalle-mini-web-catalog/1', models: [{ ...MODEL, examples: ['a cat', ' a dog'] }] },
      /"models\[0\]\.examples\[1\]" must be one line, no space at either end/,
    ],
    [
      { format: 'dalle-mini-web-catalog/1', models: [{ ...MODEL, examples: ['a\ncat'] }] },
      /"models\[0\]\.examples\[0\]"/,
    ],
    [{ format: 'dalle-mini-web-catalog/1', models: [{ ...MODEL, examples: [''] }] }, /"models\[0\]\.examples\[0\]"/],
    [
      { format: 'dalle-mini-web-catalog/1', models: [{ ...MODEL, examples: ['a cat', 'a cat'] }] },
      /repeats the example "a cat"/,
    ],
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
  const first = updateCatalog({ catalogFile, outDir: join(dir, 'tiny'), manifest, randomWeights: true });
  assert.equal(first.url, 'tiny/');
  assert.equal(
    first.bytes,
    manifest.files.reduce((sum, f) => sum + f.bytes, 0),
  );
  const written = JSON.parse(readFileSync(catalogFile, 'utf8')) as { models: Record<string, unknown>[] };
  assert.ok(!('examples' in written.models[0]!), 'a new entry offers no examples, and the file does not list none');
  const edited = { ...written, rankers: [RANKER] };
  edited.models[0] = { ...edited.models[0], name: 'My model', examples: ['a red apple'], license: 'CC-BY-4.0' };
  edited.models.push({ ...PLAIN_ENTRY, homepage: 'https://example.org' });
  writeFileSync(catalogFile, JSON.stringify(edited));
  const again = updateCatalog({
    catalogFile,
    outDir: join(dir, 'tiny'),
    manifest,
    url: 'https://cdn.example/tiny/',
    randomWeights: false,
  });
  assert.equal(again.name, 'My model');
  assert.equal(again.randomWeights, false, 'a fact of the export, renewed (trained weights exported over random ones)');
  assert.deepEqual(again.examples, ['a red apple']);
  assert.equal(again.url, 'https://cdn.example/tiny/');
  const rewritten = JSON.parse(readFileSync(catalogFile, 'utf8')) as { models: Record<string, unknown>[] };
  assert.equal(rewritten.models[0]?.license, 'CC-BY-4.0', 'fields the app does not read are the owner’s: kept');
  assert.deepEqual(
    rewritten.models[1],
    { ...PLAIN_ENTRY, homepage: 'https://example.org' },
    'other entries as written',
  );
  const reread = parseCatalog(rewritten);
  assert.equal(reread.models.length, 2);
  assert.deepEqual(reread.models[0]?.examples, ['a red apple']);
  assert.deepEqual(
    reread.rankers.map((ranker) => ranker.id),
    ['clip-demo'],
    'the rankers are kept',
  );
});

void test('the memory estimate counts a q8 decoder with int8 activations at its stored size on WASM', () => {
  const { manifest } = openModelFolder(tinyModel('q8'));
  const all = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
  const sizes = new Map(manifest.files.map((f) => [f.path, f.bytes]));
  const decoder = manifest.graphs.decoder.externalData.reduce((sum, path) => sum + sizes.get(path)!, 0);
  const { dModel, imageVocabSize } = manifest.dalleBart;
  assert.equal(loadedWeightBytes(manifest), (all - decoder) * 4 + decoder + 3 * dModel * (imageVocabSize + 1));
  const { wasmHostCacheFile, ...floatDecoder } = manifest.graphs.decoder;
  assert.ok(wasmHostCacheFile !== undefined);
  const withoutInt8 = { ...manifest, graphs: { ...manifest.graphs, decoder: floatDecoder } };
  assert.equal(loadedWeightBytes(withoutInt8), all * 4, 'every q8 weight folded to float32');
});

void test('npm run export writes the catalog entry and splits external data into --shard-mb files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'catalog-cli-'));
  // --out is a link to a folder on another disk: the catalog still names it as the site serves it.
  mkdirSync(join(dir, 'disk', 'tiny'), { recursive: true });
  symlinkSync(join(dir, 'disk', 'tiny'), join(dir, 'tiny'));
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
      // Its own cache: the shared one is written only by ensureStamped, under its lock (two test files run at once).
      '--cache-dir',
      join(dir, 'cache'),
      '--out',
      join(dir, 'tiny'),
      '--catalog',
      join(dir, 'catalog.json'),
      '--shard-mb',
      '1',
      '--model-id',
      'My Tiny',
    ],
    {
      cwd: join(import.meta.dirname, '..'),
      encoding: 'utf8',
    },
  );
  assert.equal(run.status, 0, run.stderr);
  const [entry] = parseCatalog(JSON.parse(readFileSync(join(dir, 'catalog.json'), 'utf8'))).models;
  assert.equal(entry?.id, 'my-tiny-fp32', '--model-id names the model');
  assert.equal(entry?.url, 'tiny/');
  assert.equal(entry?.randomWeights, true, 'random, whatever --model-id calls it');
  assert.ok(lstatSync(join(dir, 'tiny')).isSymbolicLink());
  const manifest = openModelFolder(join(dir, 'tiny')).manifest;
  assert.equal(manifest.modelId, 'My Tiny');
  assert.ok(manifest.graphs.decoder.externalData.length > 1, 'the decoder data is split into several files');
});

void test('a catalog of a newer app asks for a reload, not a fix of the file', () => {
  const json = { ...(JSON.parse(readFileSync(SITE_CATALOG, 'utf8')) as object), format: 'dalle-mini-web-catalog/2' };
  assert.throws(
    () => parseCatalog(json),
    (e: unknown) => e instanceof NewerFormatError && /reload the page/.test(e.message),
  );
  const other = { ...(JSON.parse(readFileSync(SITE_CATALOG, 'utf8')) as object), format: 'something-else/9' };
  assert.throws(
    () => parseCatalog(other),
    (e: unknown) => e instanceof CatalogError && !/reload/.test(e.message),
  );
});
