/** parseManifest and the config readers: every malformed field is a ManifestError (or ConfigError) that names it. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, parseDalleBartConfig, parseVqganConfig, toDalleBartConfigJson } from '../src/model/config.ts';
import { isModelPath, ManifestError, parseManifest } from '../src/model/manifest.ts';
import { tinyModel } from './helpers/fixtures.ts';

const VALID: unknown = JSON.parse(readFileSync(join(tinyModel('fp32'), 'manifest.json'), 'utf8'));
const REMOVE = Symbol('remove');

/** A deep copy of the valid manifest with the field at `path` (dots, numeric array indices) set or removed. */
function withField(path: string, value: unknown): unknown {
  const copy = structuredClone(VALID);
  const keys = path.split('.');
  const last = keys.pop()!;
  const parent = keys.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], copy) as Record<
    string,
    unknown
  >;
  if (value === REMOVE) delete parent[last];
  else parent[last] = value;
  return copy;
}

const SHA = 'a'.repeat(64);

/** [field set, value, what the message must contain (the field path and the rule)] */
const MALFORMED: readonly (readonly [string, unknown, RegExp])[] = [
  ['format', 'dalle-mini-web/2', /"format" must be one of "dalle-mini-web\/1"/],
  ['files', {}, /"files" must be an array of 1 to 1000 elements, got an object/],
  ['files', [], /"files" must be an array of 1 to 1000/],
  ['files.0.bytes', '19420', /"files\[0\]\.bytes" must be an integer from 1 to 4294967296, got the string "19420"/],
  ['files.0.bytes', 0, /"files\[0\]\.bytes" must be an integer/],
  ['files.0.bytes', 1.5, /"files\[0\]\.bytes" must be an integer/],
  ['files.0.bytes', 2 ** 40, /"files\[0\]\.bytes" must be an integer/],
  ['files.0.sha256', REMOVE, /"files\[0\]\.sha256" must be a string, got nothing \(the field is missing\)/],
  ['files.0.sha256', SHA.toUpperCase(), /"files\[0\]\.sha256" must be 64 lowercase hex digits/],
  ['files.0.sha256', SHA.slice(1), /"files\[0\]\.sha256" must be 64 lowercase hex digits/],
  ['files.1.path', 'decoder.onnx', /"files\[1\]\.path" repeats files\[0\]\.path \(decoder\.onnx\)/],
  ['files.0.path', '../../secret.txt', /"files\[0\]\.path" must be a relative path of plain names/],
  ['files.0.path', '/etc/passwd', /"files\[0\]\.path" must be a relative path/],
  ['files.0.path', 'https://evil.example/decoder.onnx', /"files\[0\]\.path" must be a relative path/],
  ['files.0.path', '%2e%2e/secret.txt', /"files\[0\]\.path" must be a relative path/],
  ['files.0.path', 'a/../decoder.onnx', /"files\[0\]\.path" must be a relative path/],
  ['files.0.path', './decoder.onnx', /"files\[0\]\.path" must be a relative path/],
  ['files.0.path', 'a\\decoder.onnx', /"files\[0\]\.path" must be a relative path/],
  ['files.0.path', 'a//b', /"files\[0\]\.path" must be a relative path/],
  ['files.0.path', '', /"files\[0\]\.path" must be a string of 1 to 200 characters/],
  ['modelId', 123, /"modelId" must be a string/],
  ['modelId', 'a\nb', /"modelId" must be a name without control characters/],
  ['dtype', 'int3', /"dtype" must be one of "fp32", "fp16", "q8", "q4"/],
  ['dalleBart', REMOVE, /"dalleBart" must be a JSON object, got nothing/],
  ['dalleBart.dModel', '32', /"dalleBart\.dModel" must be an integer from 1 to 16384, got the string "32"/],
  ['dalleBart.dModel', 33, /"dalleBart\.dModel" is 33, which is not divisible by the head count/],
  ['dalleBart.imageLength', 1e9, /"dalleBart\.imageLength" must be an integer from 1 to 65536, got number 1000000000/],
  ['dalleBart.imageLength', 255, /"dalleBart\.imageLength" is 255, but the VQGAN decodes a 16×16 grid/],
  ['dalleBart.decoderStartTokenId', 20000, /"dalleBart\.decoderStartTokenId" is 20000, beyond the image vocabulary/],
  ['dalleBart.maxTextLength', null, /"dalleBart\.maxTextLength" must be an integer from 2 to 4096, got null/],
  ['vqgan.chMult', [], /"vqgan\.chMult" must be an array of 1 to 8 elements, got an array of 0/],
  ['vqgan.chMult', [1, 'x'], /"vqgan\.chMult\[1\]" must be an integer from 1 to 64/],
  ['vqgan.outCh', 4, /"vqgan\.outCh" must be the integer 3, got number 4/],
  ['vqgan.resolution', 100, /"vqgan\.resolution" is 100, which 4 upsamplings by 2 do not reach/],
  ['vqgan.ch', 33, /"vqgan\.ch" times 1 is 33 channels/],
  ['specialTokens', [], /"specialTokens" must be a JSON object, got an array of 0/],
  ['specialTokens.unk', -1, /"specialTokens\.unk" must be an integer from 0 to 454/],
  ['specialTokens.imageCodes', 20000, /"specialTokens\.imageCodes" must be an integer from 1 to 16384/],
  ['graphs.decoder.file', 'missing.onnx', /"graphs\.decoder\.file" names missing\.onnx, which "files" does not list/],
  ['graphs.encoder.externalData', 'encoder.onnx_data', /"graphs\.encoder\.externalData" must be an array/],
  ['graphs.encoder.externalData', ['../x'], /"graphs\.encoder\.externalData\[0\]" must be a relative path/],
  ['graphs.vqgan.compute', 'float64', /"graphs\.vqgan\.compute" must be one of "float32", "float16"/],
  ['graphs.vqgan', REMOVE, /"graphs\.vqgan" must be a JSON object, got nothing/],
  ['graphs.encoder.dynamicTextLength', 'yes', /"graphs\.encoder\.dynamicTextLength" must be true or false/],
  ['graphs.decoder.dynamicTextLength', 1, /"graphs\.decoder\.dynamicTextLength" must be true or false/],
  ['graphs.decoder.graphCapture', 'no', /"graphs\.decoder\.graphCapture" must be true or false/],
  ['graphs.vqgan.wasmFile', 'missing.onnx', /"graphs\.vqgan\.wasmFile" names missing\.onnx, which "files" does not/],
  ['graphs.vqgan.wasmFile', '../x.onnx', /"graphs\.vqgan\.wasmFile" must be a relative path/],
  [
    'graphs.decoder.wasmHostCacheFile',
    'gone.onnx',
    /"graphs\.decoder\.wasmHostCacheFile" names gone\.onnx, which "files" does not/,
  ],
  [
    'graphs.decoder.weightInputsFile',
    'decoder.onnx',
    /"graphs\.decoder\.dequantizeFile" is missing, but weightInputsFile needs it/,
  ],
  [
    'graphs.decoder.dequantizeFile',
    'decoder.onnx',
    /"graphs\.decoder\.weightInputsFile" is missing, but dequantizeFile/,
  ],
  ['tokenizer.vocab', '../vocab.json', /"tokenizer\.vocab" must be a relative path/],
  [
    'tokenizer.wordFrequencies',
    'words.txt',
    /"tokenizer\.wordFrequencies" names words\.txt, which "files" does not list/,
  ],
];

void test('every malformed field is a ManifestError naming the field, the rule and what to do', () => {
  for (const [path, value, message] of MALFORMED) {
    assert.throws(
      () => parseManifest(withField(path, value), 'https://models.test/m/manifest.json'),
      (e: unknown) =>
        e instanceof ManifestError &&
        message.test(e.message) &&
        e.message.startsWith('https://models.test/m/manifest.json: ') &&
        e.message.endsWith('export it again (npm run export).'),
      `${path} = ${JSON.stringify(value)}`,
    );
  }
});

void test('a manifest that is not an object says so', () => {
  for (const json of [null, 'manifest', [], 42])
    assert.throws(() => parseManifest(json), /^ManifestError: manifest\.json must be a JSON object/);
});

void test('a valid manifest comes back as a fresh copy holding only the known fields', () => {
  const withExtras = {
    ...(VALID as object),
    extra: 'ignored',
    dalleBart: { ...(VALID as { dalleBart: object }).dalleBart, extra: 1 },
  };
  const manifest = parseManifest(withExtras);
  assert.deepEqual(manifest, VALID);
  assert.equal('extra' in manifest, false);
});

void test('fields come from the JSON itself, never from a __proto__ key or Object.prototype', () => {
  const text = readFileSync(join(tinyModel('fp32'), 'manifest.json'), 'utf8').replace(
    '"dModel": 32,',
    '"__proto__": { "dModel": 32 },',
  );
  assert.throws(
    () => parseManifest(JSON.parse(text)),
    /"dalleBart\.dModel" must be an integer from 1 to 16384, got nothing/,
  );
  assert.throws(
    () => parseManifest(withField('graphs', { constructor: {} })),
    /"graphs\.encoder" must be a JSON object, got nothing/,
  );
});

void test('messages show a few characters of a bad value, never a whole file', () => {
  const secret = `SECRET=${'x'.repeat(10_000)}`;
  assert.throws(
    () => parseManifest(withField('files.0.sha256', secret)),
    (e: unknown) => e instanceof Error && e.message.length < 400 && !e.message.includes('x'.repeat(50)),
  );
});

void test('model paths: plain relative names only', () => {
  for (const ok of ['vocab.json', 'onnx/decoder.onnx_data_1', 'a-b_c.d']) assert.equal(isModelPath(ok), true, ok);
  for (const bad of [
    '..',
    '.',
    'a/..',
    '../a',
    '/a',
    'a/',
    'C:\\a',
    'https://x/a',
    '%2e%2e/a',
    'a b',
    'a?b',
    'a#b',
    'é.json',
    'x'.repeat(201),
  ]) {
    assert.equal(isModelPath(bad), false, bad);
  }
});

void test('hub config.json: the same rules in snake_case, defaults for the optional fields, ConfigError naming the field', () => {
  const hub = toDalleBartConfigJson((VALID as { dalleBart: Parameters<typeof toDalleBartConfigJson>[0] }).dalleBart);
  assert.deepEqual(parseDalleBartConfig(hub), (VALID as { dalleBart: unknown }).dalleBart);
  delete hub.image_length;
  assert.equal(parseDalleBartConfig(hub).imageLength, 256);
  assert.throws(
    () => parseDalleBartConfig({ ...hub, d_model: '32' }, 'ckpt/config.json'),
    (e: unknown) =>
      e instanceof ConfigError && /^ckpt\/config\.json: "d_model" must be an integer from 1 to 16384/.test(e.message),
  );
  assert.throws(
    () => parseVqganConfig({ ch_mult: [1, 2, 0] }),
    (e: unknown) => e instanceof ConfigError && /"ch_mult\[2\]" must be an integer from 1 to 64/.test(e.message),
  );
  assert.equal(parseVqganConfig({}).nEmbed, 16384);
});

void test('a checkpoint config asking for what the graphs do not compute is refused, not exported wrong', () => {
  const hub = toDalleBartConfigJson((VALID as { dalleBart: Parameters<typeof toDalleBartConfigJson>[0] }).dalleBart);
  const variants: [string, unknown][] = [
    ['activation_function', 'swish'],
    ['use_absolute_position_embeddings', false],
    ['normalize_text', false],
  ];
  for (const [key, value] of variants)
    assert.throws(
      () => parseDalleBartConfig({ ...hub, [key]: value }),
      (e: unknown) => e instanceof ConfigError && e.message.includes(`"${key}" is ${JSON.stringify(value)}`),
    );
  assert.doesNotThrow(() =>
    parseDalleBartConfig({ ...hub, activation_function: 'gelu', use_absolute_position_embeddings: true }),
  );
});
