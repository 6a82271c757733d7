// A kernel worker in a browser (a module Web Worker): the pool posts the module, the shared memory
// and the control block once; the loop itself is in ./worker_loop.ts.

import { runKernelWorker, type WorkerInit } from './worker_loop.js';

const scope = globalThis as unknown as { onmessage: ((ev: MessageEvent<WorkerInit>) => void) | null; postMessage(msg: unknown): void };
scope.onmessage = (ev) => {
  scope.onmessage = null;
  runKernelWorker(ev.data, () => scope.postMessage('ready'));
};
