// Running a PyTorch peer script from bench/ (Debian's /usr/bin/python3 with torch) and reading the
// JSON line it prints last. A missing interpreter or script, or a failed run, leaves the peer out
// with a note instead of failing the bench.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** bench/NAME beside the compiled bench (dist/bench → ../../bench) or in the working directory. */
function script(name: string): string | null {
  for (const p of [join(here, '..', '..', 'bench', name), join(process.cwd(), 'bench', name)]) {
    if (existsSync(p)) return p;
  }
  return null;
}

/** The last stdout line of `python3 bench/NAME args`, parsed; null (with a note naming `section`) when it cannot run. */
export function runTorchPeer<T>(section: string, name: string, args: string[]): T | null {
  const file = script(name);
  if (file === null || !existsSync('/usr/bin/python3')) {
    console.error(`bench ${section}: torch peer skipped (no /usr/bin/python3 or bench/${name})`);
    return null;
  }
  const r = spawnSync('/usr/bin/python3', [file, ...args], { encoding: 'utf8', timeout: 20 * 60e3 });
  if (r.status !== 0) {
    console.error(`bench ${section}: torch peer failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}
