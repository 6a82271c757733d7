// The loop every kernel worker runs, in Node (./worker.ts) and in a browser (./worker_web.ts):
// instantiate the WASM kernels on the cpu backend's shared memory and run the jobs posted in the
// control block (see protocol.ts) until told to stop.

import { nativeJob } from '../native.js';
import { ACTIVE, ARGS_OFFSET, GEN, JOBS, LOCKED, MAX_ARGS, SLEEPERS, SPIN_MS, STOP, work, type JobFn } from './protocol.js';

export interface WorkerInit { module: WebAssembly.Module; memory: WebAssembly.Memory; control: SharedArrayBuffer; tid: number }

/** Instantiates the kernels, calls ready(), then serves jobs; returns when the pool stops. */
export function runKernelWorker({ module, memory, control, tid }: WorkerInit, ready: () => void): void {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const exports = instance.exports as unknown as Record<string, JobFn>;
  const fns = JOBS.map((name) => name === 'native' ? nativeJob : exports[name]!);
  const ctl = new Int32Array(control, 0, ARGS_OFFSET / 4);
  const args = new Float64Array(control, ARGS_OFFSET, MAX_ARGS);
  ready();

  let seen = Atomics.load(ctl, GEN);
  for (;;) {
    // Poll briefly (the next kernel of a forward pass usually follows within microseconds), then sleep.
    let gen = Atomics.load(ctl, GEN);
    if (gen === seen) {
      const until = performance.now() + SPIN_MS;
      for (let i = 0; gen === seen; i++) {
        gen = Atomics.load(ctl, GEN);
        if ((i & 255) === 255 && performance.now() > until) break;
      }
    }
    if (gen === seen) {
      Atomics.add(ctl, SLEEPERS, 1);
      Atomics.wait(ctl, GEN, seen);
      Atomics.sub(ctl, SLEEPERS, 1);
      continue;
    }
    if (Atomics.load(ctl, STOP)) break;
    if (Atomics.add(ctl, ACTIVE, 1) >= LOCKED) { Atomics.sub(ctl, ACTIVE, 1); continue; } // a job is being posted
    gen = Atomics.load(ctl, GEN);
    if (gen !== seen) {
      seen = gen;
      work(ctl, args, fns, tid);
    }
    Atomics.sub(ctl, ACTIVE, 1);
  }
}
