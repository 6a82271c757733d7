// Checkpoints that are never half-written: each is written into a temporary directory, renamed into
// place, and only then named in latest.json (itself replaced atomically). A crash at any point leaves
// the previous checkpoint intact and findable.

import { fileSystem, processId } from '../io/files.js';
import { join } from '../io/path.js';
import { loadSafetensors, saveSafetensors, writeFileAtomic } from '../io/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { InputError, describeFsError } from '../errors.js';

export interface CheckpointState {
  step: number;
  /** Free-form JSON: configs, RNG states, optimizer meta, best loss. */
  [key: string]: unknown;
}

export interface Checkpoint {
  dir: string;
  state: CheckpointState;
  model: Record<string, Tensor>;
  optimizer: Record<string, Tensor>;
}

const stepDir = (step: number, prefix = 'step') => `${prefix}-${String(step).padStart(7, '0')}`;
const STEP_DIR = /^step-\d+$/;
const RESUME_DIR = /^resume-\d+$/;

/**
 * Writes model + optimizer tensors and state under root/NAME and points root/latest.json at it.
 * NAME is step-NNNNNNN, or resume-NNNNNNN with `resumeOnly`: a checkpoint written on interruption
 * rather than at an evaluation, which the next checkpoint supersedes and which is never one of the
 * `keep` step checkpoints that averaging reads (else a run stopped and resumed would average it in).
 */
export async function saveCheckpoint(root: string, state: CheckpointState, model: Record<string, Tensor>, optimizer: Record<string, Tensor>,
                                     opts: { name?: string; keepLatest?: boolean; keep?: number; resumeOnly?: boolean } = {}): Promise<string> {
  fileSystem().mkdirSync(root, { recursive: true });
  const name = opts.name ?? stepDir(state.step, opts.resumeOnly === true ? 'resume' : 'step');
  const final = join(root, name);
  const tmp = join(root, `.${name}.tmp-${processId()}`);
  fileSystem().rmSync(tmp, { recursive: true, force: true });
  try {
    fileSystem().mkdirSync(tmp);
    await saveSafetensors(join(tmp, 'model.safetensors'), model);
    await saveSafetensors(join(tmp, 'optimizer.safetensors'), optimizer);
    await writeFileAtomic(join(tmp, 'state.json'), JSON.stringify(state, null, 1));
  } catch (err) {
    // A failed write (disk full) leaves no partial checkpoint behind; the previous one stays.
    fileSystem().rmSync(tmp, { recursive: true, force: true });
    throw describeFsError(err, 'write the checkpoint', final);
  }
  // Replace an older checkpoint of the same name (e.g. "best") only once the new one is complete.
  if (fileSystem().existsSync(final)) {
    const old = join(root, `.${name}.old-${processId()}`);
    fileSystem().renameSync(final, old);
    fileSystem().renameSync(tmp, final);
    fileSystem().rmSync(old, { recursive: true, force: true });
  } else {
    fileSystem().renameSync(tmp, final);
  }
  if (opts.keepLatest !== false) {
    await writeFileAtomic(join(root, 'latest.json'), JSON.stringify({ dir: name, step: state.step }));
    // Older step checkpoints are not needed for resuming: the newest `keep` stay (for averaging), the
    // rest go, as does every older resume-only one. A resume-only checkpoint keeps all `keep` beside
    // it when there are several to average, and replaces the one otherwise.
    const keep = opts.keep ?? 1;
    const others = fileSystem().readdirSync(root).filter((e) => e !== name);
    const steps = others.filter((e) => STEP_DIR.test(e)).sort().reverse();
    const stepsKept = STEP_DIR.test(name) ? keep - 1 : keep > 1 ? keep : 0;
    for (const old of [...steps.slice(stepsKept), ...others.filter((e) => RESUME_DIR.test(e))]) {
      fileSystem().rmSync(join(root, old), { recursive: true, force: true });
    }
    for (const entry of fileSystem().readdirSync(root)) {
      if (entry.startsWith('.') && entry.includes('.tmp-')) fileSystem().rmSync(join(root, entry), { recursive: true, force: true });
    }
  }
  return final;
}

/** Loads the checkpoint root/latest.json names (or root/NAME), or null if there is none. */
export async function loadCheckpoint(root: string, name?: string): Promise<Checkpoint | null> {
  let dirName = name;
  if (dirName === undefined) {
    const latest = join(root, 'latest.json');
    if (!fileSystem().existsSync(latest)) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(fileSystem().readFileSync(latest, 'utf8'));
    } catch (err) {
      throw new InputError(`${latest} is corrupt (${(err as Error).message}); delete it to resume from no checkpoint, or restore it`);
    }
    const dir = (parsed as { dir?: unknown } | null)?.dir;
    // Only a checkpoint directory of this root: latest.json must not point anywhere else.
    if (typeof dir !== 'string' || !(STEP_DIR.test(dir) || RESUME_DIR.test(dir) || dir === 'best')) {
      throw new InputError(`${latest} is corrupt: "dir" must name a checkpoint here (step-NNNNNNN or resume-NNNNNNN), got ${JSON.stringify(dir)}`);
    }
    dirName = dir;
  }
  const dir = join(root, dirName);
  for (const f of ['model.safetensors', 'optimizer.safetensors', 'state.json']) {
    if (!fileSystem().existsSync(join(dir, f))) throw new Error(`checkpoint ${dir} is incomplete: ${f} is missing`);
  }
  let state: CheckpointState;
  try {
    state = JSON.parse(fileSystem().readFileSync(join(dir, 'state.json'), 'utf8')) as CheckpointState;
  } catch (err) {
    throw new InputError(`${join(dir, 'state.json')} is corrupt: ${(err as Error).message}`);
  }
  return { dir, state, model: await loadSafetensors(join(dir, 'model.safetensors')), optimizer: await loadSafetensors(join(dir, 'optimizer.safetensors')) };
}

/**
 * The element-wise mean of the model weights of the newest k step checkpoints under root (fairseq's
 * average_checkpoints): a smoother model than any one of them. Throws when fewer than k are there.
 */
export async function averageCheckpoints(root: string, k: number): Promise<{ weights: Record<string, Tensor>; steps: number[] }> {
  if (!(Number.isInteger(k) && k >= 1)) throw new InputError(`averageCheckpoints: k must be a positive integer, got ${k}`);
  const dirs = fileSystem().existsSync(root) ? fileSystem().readdirSync(root).filter((e) => STEP_DIR.test(e)).sort().slice(-k) : [];
  if (dirs.length < k) throw new InputError(`averageCheckpoints: ${root} holds ${dirs.length} step checkpoint(s), fewer than the ${k} to average`);
  let sum: Record<string, Tensor> | null = null;
  for (const d of dirs) {
    const w = await loadSafetensors(join(root, d, 'model.safetensors'));
    if (sum === null) { sum = w; continue; }
    for (const [key, t] of Object.entries(w)) {
      const acc = sum[key];
      if (acc === undefined || acc.shape.join() !== t.shape.join()) throw new InputError(`averageCheckpoints: ${join(root, d)} does not match the others at '${key}'`);
      if (acc.dtype === 'float32') { sum[key] = acc.add(t); acc.dispose(); } // integer buffers keep the first's value
      t.dispose();
    }
  }
  const weights = Object.fromEntries(Object.entries(sum!).map(([key, t]) => {
    const mean = t.dtype === 'float32' ? t.div(dirs.length) : t;
    if (mean !== t) t.dispose();
    return [key, mean];
  }));
  return { weights, steps: dirs.map((d) => Number(d.slice(5))) };
}
