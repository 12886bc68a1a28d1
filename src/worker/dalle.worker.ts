/** The DALL·E worker: the handler bound to this worker's messages, the browser loader and the model store injected. */
import { openModelStore } from '../store/storage-probe.ts';
import { browserModelLoader } from './browser-model-loader.ts';
import { browserRankerLoader } from './browser-ranker-loader.ts';
import { createWorkerHandler } from './handler.ts';
import { createModelLibrary } from './model-library.ts';
import { unreadableMessageResponse } from './parse-request.ts';

// TypeScript types `self` as a Window here (the DOM lib is loaded too); this file only runs as a worker.
const scope = self as unknown as DedicatedWorkerGlobalScope;
const library = createModelLibrary({ openStore: () => openModelStore() });
const handle = createWorkerHandler({
  post: (message, transfer) => scope.postMessage(message, transfer),
  loadModel: browserModelLoader(library),
  loadRanker: browserRankerLoader(library),
  library,
});
// Messages are untyped here on purpose: the handler checks each one before acting on it.
scope.onmessage = (event: MessageEvent<unknown>) => void handle(event.data);
scope.onmessageerror = () => scope.postMessage(unreadableMessageResponse());
