// The control block shared by the calling thread and the workers: one job at a time, described by
// a few Int32 slots and its arguments (Float64, so byte offsets up to 4 GiB and f32 scalars both
// fit). Workers claim chunks of items with Atomics.add on NEXT; no postMessage per kernel call.
//
// Posting a job (calling thread):   CAS ACTIVE 0 → LOCKED, write FN/N/CHUNK/args, NEXT = DONE = 0,
//                                    unlock, GEN += 1, notify sleepers on GEN.
// Joining a job (worker):            ACTIVE += 1; if it was locked, back off; else read GEN: a new
//                                    generation means stable arguments (the poster cannot lock while
//                                    ACTIVE > 0), so claim chunks until NEXT >= N; ACTIVE -= 1.
// Completion:                        whoever brings DONE to N notifies the poster waiting on DONE.

export const GEN = 0, ACTIVE = 1, NEXT = 2, N = 3, CHUNK = 4, DONE = 5, FN = 6, STOP = 7, ERROR = 8, SLEEPERS = 9;
/** Items run by workers since the pool started (a statistic: tests check that workers take part). */
export const WORKER_ITEMS = 10;
export const LOCKED = 1 << 30;
/** Bytes of Int32 slots before the Float64 arguments. */
export const ARGS_OFFSET = 64;
export const MAX_ARGS = 24;
export const CONTROL_BYTES = ARGS_OFFSET + MAX_ARGS * 8;

/** The kernels a job may run, by index in FN (the same list in every thread). */
export const JOBS = ['packAB', 'gemm', 'gemv', 'softmax', 'softmaxBackward', 'layerNorm', 'layerNormBackward',
  'unary', 'binary', 'adamw', 'attnForward', 'attnBackward', 'gemvSplitK', 'sumParts', 'copyRows', 'sumLast', 'sumMiddle', 'gemmSmallM', 'native', 'attnDecode', 'quantMatmul'] as const;
export type JobName = typeof JOBS[number];

/** A parallel kernel: items [start, end) on thread tid, then its arguments. */
export type JobFn = (start: number, end: number, tid: number, ...args: number[]) => void;

/** How long an idle worker polls for the next job before it sleeps in Atomics.wait (ms). */
export const SPIN_MS = 0.2;

/** Claims and runs chunks of the current job until none is left (24 arguments at most). */
export function work(ctl: Int32Array, args: Float64Array, fns: readonly JobFn[], tid: number): void {
  const fn = fns[ctl[FN]!]!, n = ctl[N]!, chunk = ctl[CHUNK]!;
  for (;;) {
    const s = Atomics.add(ctl, NEXT, chunk);
    if (s >= n) return;
    const e = Math.min(n, s + chunk);
    try {
      fn(s, e, tid, args[0]!, args[1]!, args[2]!, args[3]!, args[4]!, args[5]!, args[6]!, args[7]!, args[8]!, args[9]!,
        args[10]!, args[11]!, args[12]!, args[13]!, args[14]!, args[15]!, args[16]!, args[17]!, args[18]!, args[19]!,
        args[20]!, args[21]!, args[22]!, args[23]!);
    } catch {
      Atomics.store(ctl, ERROR, 1);
    }
    if (tid > 0) Atomics.add(ctl, WORKER_ITEMS, e - s);
    if (Atomics.add(ctl, DONE, e - s) + (e - s) >= n) Atomics.notify(ctl, DONE);
  }
}
