// Waiting for a shared machine to be idle before a timed case: other jobs on the same cores would
// otherwise be measured too.

import { existsSync, readFileSync } from 'node:fs';

/** Fraction of CPU time idle over the last half second (1 where /proc/stat is missing). */
export async function idleFraction(): Promise<number> {
  if (!existsSync('/proc/stat')) return 1;
  const read = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { idle: f[3]! + f[4]!, total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await new Promise((r) => setTimeout(r, 500));
  const b = read();
  return (b.idle - a.idle) / Math.max(1, b.total - a.total);
}

/** Waits until the CPUs are at least 90% idle, or maxMs has passed. */
export async function waitIdle(maxMs = 30_000): Promise<void> {
  const start = Date.now();
  while ((await idleFraction()) < 0.9 && Date.now() - start < maxMs) { /* someone else is computing */ }
}
