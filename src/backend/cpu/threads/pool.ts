// A pool of kernel workers sharing the cpu backend's WebAssembly.Memory. The calling thread posts a
// job in the shared control block (protocol.ts) and works on it too; idle workers poll for a
// moment and then sleep in Atomics.wait, so a kernel call costs a few atomics, not a message.
//
// Workers start asynchronously: until they are up the calling thread simply does all the items.
// They are unref'd, so they never keep the process alive, and shutdown() stops them. In a browser
// they are module Web Workers (./worker_web.ts) over the same shared memory.

import type { Worker as NodeWorker } from 'node:worker_threads';

/** The Node worker's file beside this one (a variable: bundlers must not take it for the browser's). */
const NODE_WORKER = './worker.js';
/** A browser's main thread may not block in Atomics.wait; it spins instead (workers may wait). */
const CAN_BLOCK = typeof (globalThis as { document?: unknown }).document === 'undefined';
import { ACTIVE, ARGS_OFFSET, CHUNK, CONTROL_BYTES, DONE, ERROR, FN, GEN, JOBS, LOCKED, MAX_ARGS, N, NEXT, SLEEPERS, STOP,
  WORKER_ITEMS, work, type JobFn, type JobName } from './protocol.js';

type WorkerCtor = typeof NodeWorker;

/**
 * The parent's node flags minus those that describe its own entry point (-e/-p code, --input-type):
 * a worker inherits them by default and refuses to start with them (`node --input-type=module -e`).
 */
export function workerExecArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (['-e', '--eval', '-p', '--print', '--input-type'].includes(a)) { i++; continue; }
    if (a.startsWith('--input-type=') || a.startsWith('--eval=') || a.startsWith('--print=')) continue;
    out.push(a);
  }
  return out;
}

export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  private readonly fns: JobFn[];
  private workers: { terminate(): Promise<number> }[] = [];
  private dead = 0;
  private lastError = '';
  private stopped = false;
  /** Resolves once every worker has instantiated the module (tests wait on it). */
  readonly ready: Promise<void>;

  /** size: threads in all, the calling one included. */
  constructor(readonly size: number, module: WebAssembly.Module, memory: WebAssembly.Memory, exports: Record<string, JobFn>) {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    this.ctl = new Int32Array(control, 0, ARGS_OFFSET / 4);
    this.args = new Float64Array(control, ARGS_OFFSET, MAX_ARGS);
    this.fns = JOBS.map((name) => exports[name]!);
    const wt = (globalThis.process?.getBuiltinModule?.('node:worker_threads') ?? null) as { Worker: WorkerCtor } | null;
    const started: Promise<void>[] = [];
    if (size > 1 && wt !== null) {
      const url = new URL(NODE_WORKER, import.meta.url);
      const execArgv = workerExecArgv(globalThis.process?.execArgv ?? []);
      for (let tid = 1; tid < size; tid++) {
        const w = new wt.Worker(url, { workerData: { module, memory, control, tid }, execArgv });
        w.unref();
        started.push(new Promise<void>((resolve) => {
          w.once('message', () => resolve());
          w.once('error', (err) => { this.lastError = err instanceof Error ? err.message : String(err); resolve(); });
          w.once('exit', (code) => { this.dead++; this.lastError ||= `exit code ${code}`; resolve(); });
        }));
        this.workers.push({ terminate: () => w.terminate() });
      }
    } else if (size > 1 && typeof Worker !== 'undefined') {
      // A browser: module Web Workers (the literal URL lets a bundler find and build the worker).
      for (let tid = 1; tid < size; tid++) {
        const w = new Worker(new URL('./worker_web.js', import.meta.url), { type: 'module', name: `tlm-kernels-${tid}` });
        started.push(new Promise<void>((resolve) => {
          w.addEventListener('message', () => resolve(), { once: true });
          w.addEventListener('error', (ev) => { this.dead++; this.lastError ||= ev.message || 'worker failed to start'; resolve(); }, { once: true });
        }));
        w.postMessage({ module, memory, control, tid });
        this.workers.push({ terminate: () => { w.terminate(); return Promise.resolve(0); } });
      }
    }
    this.ready = Promise.all(started).then(() => undefined);
  }

  /** Items the workers (not the calling thread) have run so far. */
  get workerItems(): number {
    return Atomics.load(this.ctl, WORKER_ITEMS);
  }

  /** Threads that take part in a job (the calling thread included). */
  get threads(): number {
    return this.stopped ? 1 : this.size;
  }

  /**
   * Runs items [0, n) of job `name` in chunks of `chunk`, on this thread and every worker; returns
   * when all are done. A kernel error in any thread is rethrown here.
   */
  run(name: JobName, n: number, chunk: number, args: readonly number[]): void {
    const ctl = this.ctl;
    if (this.stopped || this.workers.length === 0 || n <= chunk) { this.fns[JOBS.indexOf(name)]!(0, n, 0, ...args); return; }
    if (this.dead > 0) throw new Error(`cpu thread pool: a worker exited (${this.lastError}); call setCpuThreads() to restart the pool`);
    while (Atomics.compareExchange(ctl, ACTIVE, 0, LOCKED) !== 0) { /* workers leaving the previous job */ }
    ctl[FN] = JOBS.indexOf(name); ctl[N] = n; ctl[CHUNK] = chunk; ctl[NEXT] = 0; ctl[DONE] = 0; ctl[ERROR] = 0;
    for (let i = 0; i < args.length; i++) this.args[i] = args[i]!;
    Atomics.sub(ctl, ACTIVE, LOCKED);
    Atomics.add(ctl, GEN, 1);
    if (Atomics.load(ctl, SLEEPERS) > 0) Atomics.notify(ctl, GEN);
    work(ctl, this.args, this.fns, 0);
    // Spin while the workers finish their last chunks; sleep if that takes long.
    for (let i = 0; Atomics.load(ctl, DONE) < n; i++) {
      if (i > 4096) {
        const done = Atomics.load(ctl, DONE);
        if (done < n && CAN_BLOCK) Atomics.wait(ctl, DONE, done, 50);
        if (this.dead > 0) throw new Error(`cpu thread pool: a worker exited during a kernel (${this.lastError})`);
      }
    }
    if (ctl[ERROR]) throw new Error(`cpu kernel '${name}' trapped (a WebAssembly error in one of its threads)`);
  }

  /** Stops the workers; later jobs run on the calling thread. */
  shutdown(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.stopped = true;
    Atomics.store(this.ctl, STOP, 1);
    Atomics.add(this.ctl, GEN, 1);
    Atomics.notify(this.ctl, GEN);
    const exits = this.workers.map((w) => w.terminate().then(() => undefined, () => undefined));
    this.workers = [];
    return Promise.all(exits).then(() => undefined);
  }
}
