/** A parent page's drawing request through the widget's controller (src/ui/embed/parent-draw.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GenerationCancelledError } from '../src/pipeline/errors.ts';
import type { Controller } from '../src/ui/controller.ts';
import { EMBED_API } from '../src/ui/embed/embed-api.ts';
import type { GenerateMessage } from '../src/ui/embed/embed-api.ts';
import { parentDraw } from '../src/ui/embed/parent-draw.ts';
import type { CatalogModel } from '../src/model/catalog.ts';
import { useAppStore } from '../src/ui/store.ts';

void test('a request cancelled while it waited for another drawing never starts', async () => {
  useAppStore.setState({ phase: 'ready' });
  let draws = 0;
  const controller = { draw: () => void draws++, cancel: () => undefined } as unknown as Controller;
  const cancelled = new AbortController();
  cancelled.abort();
  const request: GenerateMessage = { api: EMBED_API, type: 'generate', id: 2, prompt: 'a red square' };
  await assert.rejects(
    parentDraw(controller)(request, () => undefined, cancelled.signal),
    GenerationCancelledError,
  );
  assert.equal(draws, 0);
});

const DRAWING = {
  prompt: 'a red square',
  count: 1,
  seed: 7,
  sampling: { conditionScale: 10, topK: 50, topP: 1, temperature: 1 },
  model: 'demo',
  modelId: 'm',
};

void test('a cancelled drawing answers cancelled, not with the drawing the grid gives back', async () => {
  useAppStore.setState({
    phase: 'ready',
    drawing: DRAWING,
    images: [new Uint8ClampedArray(4)],
    tokens: [[1]],
    imageSize: 1,
    error: null,
  });
  const controller = { draw: () => Promise.resolve(false), cancel: () => undefined } as unknown as Controller;
  const request: GenerateMessage = { api: EMBED_API, type: 'generate', id: 3, prompt: 'a blue square', count: 1 };
  await assert.rejects(
    parentDraw(controller)(request, () => undefined, new AbortController().signal),
    GenerationCancelledError,
  );
});

void test('a cancel that comes while the PNGs are encoded cancels: no result is handed over', async () => {
  useAppStore.setState({ phase: 'ready', drawing: DRAWING, images: [new Uint8ClampedArray(4)], imageSize: 1 });
  const cancel = new AbortController();
  // A canvas whose toBlob answers later, as browsers' do; the parent's cancel arrives meanwhile.
  const canvas = {
    getContext: () => ({ putImageData: () => undefined }),
    toBlob: (done: (blob: Blob) => void) => setTimeout(() => (cancel.abort(), done(new Blob(['png']))), 5),
  };
  Object.assign(globalThis, {
    document: { createElement: () => canvas },
    ImageData: class {},
  });
  try {
    const controller = { draw: () => Promise.resolve(true), cancel: () => undefined } as unknown as Controller;
    const request: GenerateMessage = { api: EMBED_API, type: 'generate', id: 4, prompt: 'x', count: 1, format: 'blob' };
    await assert.rejects(
      parentDraw(controller)(request, () => undefined, cancel.signal),
      GenerationCancelledError,
    );
  } finally {
    Reflect.deleteProperty(globalThis, 'document');
    Reflect.deleteProperty(globalThis, 'ImageData');
  }
});

void test('after a failed load (the model offered again) a parent’s request is answered with the failure', async () => {
  const offer = { model: {} as CatalogModel, missingBytes: 0, bytes: 1, host: 'this site', spaceProblem: null };
  // Another notice beside a first download's offer is no failure: the parent is told to wait for "ready".
  useAppStore.setState({ phase: 'consent', offer, error: 'This site offers no model "x"; showing Demo instead.' });
  await assert.rejects(
    parentDraw({} as Controller)(
      { api: EMBED_API, type: 'generate', id: 6, prompt: 'x' },
      () => undefined,
      new AbortController().signal,
    ),
    /not downloaded yet/,
  );
  useAppStore.setState({
    phase: 'consent',
    offer: { ...offer, afterFailure: true },
    error: 'The model could not be loaded. Out of memory.',
  });
  const controller = { draw: () => Promise.resolve(true), cancel: () => undefined } as unknown as Controller;
  const request: GenerateMessage = { api: EMBED_API, type: 'generate', id: 5, prompt: 'x' };
  await assert.rejects(
    parentDraw(controller)(request, () => undefined, new AbortController().signal),
    /could not be loaded\. Out of memory/,
  );
});
