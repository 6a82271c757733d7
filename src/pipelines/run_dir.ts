// A training run's output directory: refused if it already holds a run (unless resumed or
// overwritten), and locked for the run's lifetime so that two runs never write into one directory.
//
// The lock is a file (.tlm.lock) created exclusively, holding the owner's pid, host and start time.
// A lock whose process is gone (a SIGKILLed run) is stale: it is taken over, with a note.

import { existsSync, mkdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { InputError, describeFsError } from '../errors.js';
import { UNFINISHED_FILE } from '../train/trainer.js';

export const LOCK_FILE = '.tlm.lock';

/** What a finished or interrupted run leaves; any of these means the directory holds a run. */
const RUN_OUTPUTS = ['config.json', 'model.safetensors', 'checkpoints', 'metrics.jsonl', 'adapter_config.json'];
/** What --overwrite removes before the new run starts (model files are replaced atomically when rewritten). */
const RUN_STATE = ['checkpoints', 'metrics.jsonl', 'loss.svg', 'metric.svg', 'tokens.bin', UNFINISHED_FILE];

interface LockInfo { pid: number; host: string; started: string; command: string }

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM'; // exists, owned by someone else
  }
}

function readLock(path: string): LockInfo | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
  } catch {
    return null; // torn or foreign: treated as stale
  }
}

/** What every training pipeline takes about its run: where it writes, how it starts, how it reports. */
export interface RunSettings {
  out: string;
  /** Continue the run in `out` from its latest checkpoint. */
  resume?: boolean;
  /** Replace what `out` holds. */
  overwrite?: boolean;
  /** Accept text that is not valid UTF-8 (invalid bytes become U+FFFD). */
  lossyUtf8?: boolean;
  quiet?: boolean;
  /** Set by a signal handler to stop at the next step (the run saves and returns). */
  stop?: { requested: boolean };
  /** For messages: 'tlm train'. */
  command?: string;
  log?: (s: string) => void;
}

export interface RunDir {
  dir: string;
  /** Removes the lock (also done at process exit). */
  release(): void;
}

export interface OpenRunDirOptions {
  /** Continue the run in dir (its checkpoints). */
  resume?: boolean;
  /** Replace what dir holds: its checkpoints and metrics are removed, model files rewritten. */
  overwrite?: boolean;
  /** 'tlm train', for messages. */
  command: string;
  log?: (message: string) => void;
}

/** Creates (or checks) dir for a run and takes its lock; throws InputError naming the way on. */
export function openRunDir(dir: string, o: OpenRunDirOptions): RunDir {
  if (o.resume && o.overwrite) throw new InputError(`${o.command}: --resume and --overwrite contradict each other; pick one`);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new InputError(`${o.command}: --out ${dir} is a file, not a directory`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw describeFsError(err, 'create the output directory', dir);
  }
  const lock = acquireLock(dir, o);
  try {
    const held = RUN_OUTPUTS.filter((f) => existsSync(join(dir, f)));
    if (held.length > 0 && !o.resume && !o.overwrite) {
      throw new InputError(`${o.command}: ${dir} already holds a run (${held.join(', ')}); pass --resume to continue it or --overwrite to replace it`);
    }
    if (o.overwrite) for (const f of RUN_STATE) rmSync(join(dir, f), { recursive: true, force: true });
    // Temporary files of a write that died half-way.
    for (const f of readdirSync(dir)) if (/^\..*\.tmp$/.test(f) || /\.tmp-\d+$/.test(f)) rmSync(join(dir, f), { recursive: true, force: true });
  } catch (err) {
    lock.release();
    throw err;
  }
  return lock;
}

function acquireLock(dir: string, o: OpenRunDirOptions): RunDir {
  const path = join(dir, LOCK_FILE);
  const me: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command: o.command };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, JSON.stringify(me) + '\n', { flag: 'wx' });
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        // Only our own lock: a stale-lock takeover by another process must not be undone.
        if (readLock(path)?.pid === process.pid) { try { unlinkSync(path); } catch { /* already gone */ } }
      };
      process.on('exit', release);
      return { dir, release };
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw describeFsError(err, 'lock the output directory', dir);
    }
    const other = readLock(path);
    if (other && other.host === me.host && other.pid !== process.pid && alive(other.pid)) {
      throw new InputError(`${o.command}: ${dir} is in use by another run (${other.command}, pid ${other.pid}, since ${other.started}); wait for it, or use another --out`);
    }
    if (other && other.host !== me.host) {
      throw new InputError(`${o.command}: ${dir} is locked by a run on host ${other.host} (pid ${other.pid}); if that run is gone, delete ${path}`);
    }
    o.log?.(`note: removing a stale lock in ${dir} (pid ${other?.pid ?? '?'} is gone)`);
    rmSync(path, { force: true });
  }
  throw new InputError(`${o.command}: could not lock ${dir}`);
}
