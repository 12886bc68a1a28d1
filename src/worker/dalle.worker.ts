/** The DALL·E worker: the handler bound to this worker's messages, the browser loader injected. */
import { loadBrowserModel } from './browser-model-loader.ts';
import { createWorkerHandler } from './handler.ts';
import type { WorkerRequest } from './protocol.ts';

// TypeScript types `self` as a Window here (the DOM lib is loaded too); this file only runs as a worker.
const scope = self as unknown as DedicatedWorkerGlobalScope;
const handle = createWorkerHandler({ post: (message, transfer) => scope.postMessage(message, transfer), loadModel: loadBrowserModel });
scope.onmessage = (event: MessageEvent<WorkerRequest>) => void handle(event.data);
