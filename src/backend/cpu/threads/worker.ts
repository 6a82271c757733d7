// A kernel worker thread in Node (worker_threads); the loop itself is in ./worker_loop.ts.

import { parentPort, workerData } from 'node:worker_threads';
import { runKernelWorker, type WorkerInit } from './worker_loop.js';

runKernelWorker(workerData as WorkerInit, () => parentPort!.postMessage('ready'));
