/**
 * The words a visitor reads for an error. A failed allocation in the worker reaches the page as OutOfMemoryError
 * (advice in the page's language, a fresh worker), not as the engine's raw words; the errors a visitor meets have the
 * page's own sentence in Chinese too; a page whose files another tab's update replaced says to reload.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NewerFormatError } from '../src/model/format-version.ts';
import { ManifestError } from '../src/model/manifest.ts';
import { FileNotStoredError } from '../src/store/errors.ts';
import { describeError } from '../src/ui/error-text.ts';
import { i18n } from '../src/ui/i18n.ts';
import {
  asOutOfMemory,
  GpuMemoryError,
  ModelNotLoadedError,
  OutOfMemoryError,
  RankerNotLoadedError,
  WorkerCrashedError,
} from '../src/worker/errors.ts';
import { useAppStore } from '../src/ui/store.ts';

void test('failed allocations of V8, WebAssembly, Emscripten and ONNX Runtime become OutOfMemoryError; others pass', () => {
  const failures = [
    new RangeError('Array buffer allocation failed'),
    new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded'),
    new Error('Aborted(). Build with -sASSERTIONS for more info.'),
    new Error('[WebAssembly] failed to allocate a buffer of size 1073741824'),
    new Error('std::bad_alloc'),
  ];
  for (const failure of failures) {
    const mapped = asOutOfMemory(failure);
    assert.ok(mapped instanceof OutOfMemoryError, failure.message);
    assert.match(mapped.message, /fewer images/);
  }
  const others = [
    new TypeError('x is not a function'),
    new RangeError('Invalid seed'),
    new GpuMemoryError(64, 'no'),
    // Other aborts name their reason: a WASM file that could not be fetched is no memory problem.
    new Error(
      'no available backend found. ERR: [wasm] RuntimeError: Aborted(both async and sync fetching of the wasm failed)',
    ),
  ];
  for (const other of others) assert.equal(asOutOfMemory(other), other);
});

void test('on a Chinese page, memory, not-loaded, manifest, newer-format and unstored-file errors read in Chinese', async () => {
  const errors = [
    new OutOfMemoryError('Array buffer allocation failed'),
    new GpuMemoryError(64, 'createBuffer failed'),
    new ModelNotLoadedError(),
    new RankerNotLoadedError(),
    new ManifestError('"format" must be one of "dalle-mini-web/1"'),
    new FileNotStoredError('decoder.onnx_data'),
    new NewerFormatError('manifest.json is in format "dalle-mini-web/2"'),
  ];
  await i18n.changeLanguage('zh-CN');
  try {
    for (const error of errors) {
      const text = describeError(error);
      assert.match(text, /[\u4e00-\u9fff]{4}/, `${error.name}: ${text}`);
      assert.ok(text.includes(error.message), `${error.name} keeps the original as the detail`);
    }
  } finally {
    await i18n.changeLanguage('en');
  }
});

void test('after another tab’s update took this page over, a worker or chunk that fails to start asks for a reload', () => {
  const crashed = new WorkerCrashedError('script error', true);
  const chunk = new TypeError('Failed to fetch dynamically imported module: http://x/assets/transformers.web-1.js');
  assert.doesNotMatch(describeError(crashed), /reload this page/);
  useAppStore.setState({ versionReplaced: true });
  try {
    for (const error of [crashed, chunk]) assert.match(describeError(error), /updated the app .* reload this page/);
    assert.doesNotMatch(describeError(new OutOfMemoryError('x')), /reload this page/, 'other errors keep their words');
    const midDrawing = new WorkerCrashedError('out of memory', false);
    assert.doesNotMatch(describeError(midDrawing), /reload this page/, 'a worker that ran and died keeps its advice');
  } finally {
    useAppStore.setState({ versionReplaced: false });
  }
});
