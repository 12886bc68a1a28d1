/** A parent page's drawing request through the widget's controller (src/ui/embed/parent-draw.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GenerationCancelledError } from '../src/pipeline/errors.ts';
import type { Controller } from '../src/ui/controller.ts';
import { EMBED_API } from '../src/ui/embed/embed-api.ts';
import type { GenerateMessage } from '../src/ui/embed/embed-api.ts';
import { parentDraw } from '../src/ui/embed/parent-draw.ts';
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
